# Hostile cases for textual inversion (Add-SdEmbedding, New-SdPipeline -EmbeddingPath): every unusable file, token or path
# is refused by its own id before the text encoder is rebuilt, and the shared pipeline is left without embeddings.

# Writes a float32 safetensors file with one tensor (the values as given, NaN included).
function global:New-SdTiEmbeddingFile([string] $Path, [string] $Name, [long[]] $Shape, [float[]] $Values) {
    $data = [byte[]]::new(4 * $Values.Count)
    for ($i = 0; $i -lt $Values.Count; $i++) { [BitConverter]::GetBytes($Values[$i]).CopyTo($data, 4 * $i) }
    $header = [System.Text.Encoding]::UTF8.GetBytes((@{ $Name = @{ dtype = 'F32'; shape = $Shape; data_offsets = @(0, $data.Length) } } | ConvertTo-Json -Compress -Depth 4))
    $bytes = [byte[]]::new(8 + $header.Length + $data.Length)
    [BitConverter]::GetBytes([uint64]$header.Length).CopyTo($bytes, 0)
    $header.CopyTo($bytes, 8)
    $data.CopyTo($bytes, 8 + $header.Length)
    [System.IO.File]::WriteAllBytes($Path, $bytes)
}


@{
    Name     = 'Add-SdEmbedding with a missing file'
    ErrorId  = 'EmbeddingFileNotFound,*'
    Category = 'ObjectNotFound'
    Script   = { param($ctx) Add-SdEmbedding -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Inputs 'none.safetensors') -ErrorAction Stop }
    Target   = { param($target, $ctx) $target -like '*none.safetensors' }
}
@{
    Name     = 'Add-SdEmbedding with a folder'
    ErrorId  = 'EmbeddingPathIsFolder,*'
    Category = 'ObjectNotFound'
    Script   = { param($ctx) Add-SdEmbedding -Pipeline $ctx.Pipeline -Path $ctx.Inputs -ErrorAction Stop }
}
@{
    Name     = 'Add-SdEmbedding with a NaN vector'
    ErrorId  = 'EmbeddingNotFinite,*'
    Category = 'InvalidData'
    Setup    = { param($ctx) New-SdTiEmbeddingFile (Join-Path $ctx.Inputs 'nan.safetensors') 'emb_params' @(1, 32) (@([float]::NaN) + @(0) * 31) }
    Script   = { param($ctx) Add-SdEmbedding -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Inputs 'nan.safetensors') -Token '<nan>' -ErrorAction Stop }
    Target   = { param($target, $ctx) $target -like '*nan.safetensors' }
}
@{
    Name     = 'Add-SdEmbedding with vectors of another width than the text encoder''s'
    ErrorId  = 'EmbeddingDimensionMismatch,*'
    Category = 'InvalidData'
    Setup    = { param($ctx) New-SdTiEmbeddingFile (Join-Path $ctx.Inputs 'wide.safetensors') 'emb_params' @(1, 768) (@(0.1) * 768) }
    Script   = { param($ctx) Add-SdEmbedding -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Inputs 'wide.safetensors') -Token '<wide>' -ErrorAction Stop }
}
@{
    Name     = 'Add-SdEmbedding with a rank-3 tensor'
    ErrorId  = 'EmbeddingRankInvalid,*'
    Category = 'InvalidData'
    Setup    = { param($ctx) New-SdTiEmbeddingFile (Join-Path $ctx.Inputs 'rank3.safetensors') 'emb_params' @(1, 2, 32) (@(0.1) * 64) }
    Script   = { param($ctx) Add-SdEmbedding -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Inputs 'rank3.safetensors') -Token '<r>' -ErrorAction Stop }
}
@{
    Name     = 'Add-SdEmbedding with a LoRA file'
    ErrorId  = 'EmbeddingLayoutUnknown,*'
    Category = 'InvalidData'
    Script   = { param($ctx) Add-SdEmbedding -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Fixtures 'tiny-sd-lora' 'tiny_lora_a.peft.safetensors') -ErrorAction Stop }
}
@{
    Name     = 'Add-SdEmbedding with a truncated safetensors file'
    ErrorId  = 'InvalidEmbeddingFile,*'
    Category = 'InvalidData'
    Setup    = { param($ctx) [System.IO.File]::WriteAllBytes((Join-Path $ctx.Inputs 'short.safetensors'), [byte[]](1..5)) }
    Script   = { param($ctx) Add-SdEmbedding -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Inputs 'short.safetensors') -ErrorAction Stop }
}
@{
    Name     = 'Add-SdEmbedding with a pickled .pt embedding'
    ErrorId  = 'EmbeddingIsPickle,*'
    Category = 'InvalidData'
    Setup    = { param($ctx) [System.IO.File]::WriteAllBytes((Join-Path $ctx.Inputs 'style.pt'), [byte[]](1..64)) }
    Script   = { param($ctx) Add-SdEmbedding -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Inputs 'style.pt') -ErrorAction Stop }
}
@{
    Name     = 'Add-SdEmbedding with a token that is a vocabulary word'
    ErrorId  = 'EmbeddingTokenExists,*'
    Category = 'InvalidArgument'
    Script   = { param($ctx) Add-SdEmbedding -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Fixtures 'tiny-sd-lora' 'tiny-style.a1111.safetensors') -Token 'cat</w>' -ErrorAction Stop }
    Target   = { param($target, $ctx) $target -eq 'cat</w>' }
}
@{
    Name     = 'Add-SdEmbedding with a token holding a space'
    ErrorId  = 'EmbeddingTokenInvalid,*'
    Category = 'InvalidArgument'
    Script   = { param($ctx) Add-SdEmbedding -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Fixtures 'tiny-sd-lora' 'tiny-style.a1111.safetensors') -Token 'my style' -ErrorAction Stop }
    Target   = { param($target, $ctx) $target -eq 'my style' }
}
@{
    Name     = 'Add-SdEmbedding with a path holding NUL'
    ErrorId  = 'InvalidEmbeddingPath,*'
    Category = 'InvalidArgument'
    Script   = { param($ctx) Add-SdEmbedding -Pipeline $ctx.Pipeline -Path "a`0b.safetensors" -ErrorAction Stop }
}
@{
    Name     = 'Add-SdEmbedding with an SDXL embedding on an SD 1.x model'
    ErrorId  = 'EmbeddingForSdxl,*'
    Category = 'InvalidOperation'
    Setup    = {
        param($ctx)
        # clip_l and clip_g tensors, written by hand (the helper writes one tensor).
        $values = [byte[]]::new(8 * 4)
        $header = [System.Text.Encoding]::UTF8.GetBytes('{"clip_l":{"dtype":"F32","shape":[1,4],"data_offsets":[0,16]},"clip_g":{"dtype":"F32","shape":[1,4],"data_offsets":[16,32]}}')
        $bytes = [byte[]]::new(8 + $header.Length + $values.Length)
        [BitConverter]::GetBytes([uint64]$header.Length).CopyTo($bytes, 0)
        $header.CopyTo($bytes, 8)
        [System.IO.File]::WriteAllBytes((Join-Path $ctx.Inputs 'xl.safetensors'), $bytes)
    }
    Script   = { param($ctx) Add-SdEmbedding -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Inputs 'xl.safetensors') -Token '<xl>' -ErrorAction Stop }
}
@{
    Name     = 'New-SdPipeline -EmbeddingPath with a missing path'
    ErrorId  = 'EmbeddingPathNotFound,*'
    Category = 'ObjectNotFound'
    Script   = { param($ctx) New-SdPipeline -Path $ctx.Model -ExecutionProvider Cpu -EmbeddingPath (Join-Path $ctx.Inputs 'embeddings') -ErrorAction Stop }
}
@{
    Name     = 'New-SdPipeline -EmbeddingPath with a folder holding no .safetensors file'
    ErrorId  = 'EmbeddingFolderEmpty,*'
    Category = 'ObjectNotFound'
    Setup    = { param($ctx) New-Item -ItemType Directory (Join-Path $ctx.Inputs 'embeddings') | Out-Null; Set-Content (Join-Path $ctx.Inputs 'embeddings' 'x.pt') 'x' }
    Script   = { param($ctx) New-SdPipeline -Path $ctx.Model -ExecutionProvider Cpu -EmbeddingPath (Join-Path $ctx.Inputs 'embeddings') -ErrorAction Stop }
}
@{
    Name     = 'New-SdPipeline -EmbeddingPath with a NaN embedding in the folder is refused before the model loads'
    ErrorId  = 'EmbeddingNotFinite,*'
    Category = 'InvalidData'
    Setup    = {
        param($ctx)
        New-Item -ItemType Directory (Join-Path $ctx.Inputs 'embeddings') | Out-Null
        New-SdTiEmbeddingFile (Join-Path $ctx.Inputs 'embeddings' 'bad.safetensors') 'emb_params' @(1, 32) (@([float]::PositiveInfinity) * 32)
    }
    Script   = { param($ctx) New-SdPipeline -Path $ctx.Model -ExecutionProvider Cpu -EmbeddingPath (Join-Path $ctx.Inputs 'embeddings') -ErrorAction Stop }
}
@{
    Name     = 'New-SdPipeline -EmbeddingPath with the same token twice'
    ErrorId  = 'EmbeddingTokenExists,*'
    Category = 'InvalidArgument'
    Setup    = {
        param($ctx)
        foreach ($d in 'a', 'b') {
            New-Item -ItemType Directory (Join-Path $ctx.Inputs $d) | Out-Null
            Copy-Item (Join-Path $ctx.Fixtures 'tiny-sd-lora' 'tiny-style.a1111.safetensors') (Join-Path $ctx.Inputs $d 'style.safetensors')
        }
    }
    Script   = { param($ctx) New-SdPipeline -Path $ctx.Model -ExecutionProvider Cpu -EmbeddingPath (Join-Path $ctx.Inputs 'a'), (Join-Path $ctx.Inputs 'b') -ErrorAction Stop }
    Target   = { param($target, $ctx) $target -eq 'style' }
}
