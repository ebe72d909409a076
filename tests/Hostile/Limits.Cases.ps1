# Hostile cases for numbers, seeds, texts and limits (issue 13): each must end in one specific ErrorRecord before any
# image is generated or written. Dot-source or invoke: outputs one hashtable per case (see tests/Hostile.Tests.ps1).

# A JSON render job on the fixture model writing to the case's output folder; $Prompts and $Defaults are JSON text.
function global:New-SdLimitsJob($ctx, [string] $Prompts, [string] $Defaults = '"Seeds": 1, "Steps": 2, "Width": 64, "Height": 64') {
    $path = Join-Path $ctx.Inputs 'job.json'
    $json = "{ `"Model`": $($ctx.Model | ConvertTo-Json), `"Provider`": `"Cpu`", `"Defaults`": { $Defaults }, " +
        "`"Prompts`": $Prompts, `"OutputDirectory`": $($ctx.Output | ConvertTo-Json) }"
    [System.IO.File]::WriteAllText($path, $json)
    $path
}

@{
    Name = 'seed [long]::MaxValue with two images per prompt would wrap'
    ErrorId = 'SeedOutOfRange*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed ([long]::MaxValue) -ImagesPerPrompt 2 -Width 64 -Height 64 -Steps 2 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq [long]::MaxValue }
}
@{
    Name = 'seed 2^63-2 with three images per prompt passes the largest seed'
    ErrorId = 'SeedOutOfRange*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed ([long]::MaxValue - 1) -ImagesPerPrompt 3 -Width 64 -Height 64 -Steps 2 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq [long]::MaxValue - 1 }
}
@{
    Name = 'negative seed'
    ErrorId = 'SeedOutOfRange*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed -1 -Width 64 -Height 64 -Steps 2 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq -1 }
}
@{
    Name = 'Steps 1000 with PNDM (steps_offset 1 steps past timestep 999)'
    ErrorId = 'StepsOutOfRange*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed 1 -Scheduler PNDM -Steps 1000 -Width 64 -Height 64 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq 1000 }
}
@{
    Name = 'Steps 1000 with DDIM'
    ErrorId = 'StepsOutOfRange*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed 1 -Scheduler DDIM -Steps 1000 -Width 64 -Height 64 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq 1000 }
}
@{
    Name = 'Steps [int]::MaxValue with Euler'
    ErrorId = 'StepsOutOfRange*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed 1 -Scheduler Euler -Steps ([int]::MaxValue) -Width 64 -Height 64 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq [int]::MaxValue }
}
@{
    Name = 'ImagesPerPrompt [int]::MaxValue'
    ErrorId = 'ImagesPerPromptOutOfRange*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed 1 -ImagesPerPrompt ([int]::MaxValue) -Width 64 -Height 64 -Steps 2 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq [int]::MaxValue }
}
@{
    Name = 'GuidanceScale 3.4e38'
    ErrorId = 'GuidanceScaleOutOfRange*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed 1 -GuidanceScale 3.4e38 -Width 64 -Height 64 -Steps 2 -ErrorAction Stop }
}
@{
    Name = 'GuidanceScale NaN'
    ErrorId = 'GuidanceScaleOutOfRange*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed 1 -GuidanceScale ([double]::NaN) -Width 64 -Height 64 -Steps 2 -ErrorAction Stop }
    Target = { param($target, $ctx) [double]::IsNaN($target) }
}
@{
    Name = 'Eta 5 with DDIM (its noise would exceed the posterior: NaN)'
    ErrorId = 'EtaOutOfRange*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed 1 -Scheduler DDIM -Eta 5 -Width 64 -Height 64 -Steps 2 -ErrorAction Stop }
}
@{
    Name = 'BatchSize 100000'
    ErrorId = 'InvalidBatchSize*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed 1 -BatchSize 100000 -Width 64 -Height 64 -Steps 2 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq 100000 }
}
@{
    Name = 'AestheticScore 1e9'
    ErrorId = 'AestheticScoreOutOfRange*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed 1 -AestheticScore 1e9 -Width 64 -Height 64 -Steps 2 -ErrorAction Stop }
}
@{
    Name = 'prompt with a NUL character'
    ErrorId = 'UnsavableText*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt "a`0cat" -Seed 1 -Width 64 -Height 64 -Steps 2 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -ceq "a`0cat" }
}
@{
    Name = 'prompt with a lone high surrogate'
    ErrorId = 'UnsavableText*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt "a $([char]0xD800) cat" -Seed 1 -Width 64 -Height 64 -Steps 2 -ErrorAction Stop }
}
@{
    Name = 'negative prompt with a lone low surrogate'
    ErrorId = 'UnsavableText*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'a cat' -NegativePrompt "dark $([char]0xDC00)" -Seed 1 -Width 64 -Height 64 -Steps 2 -ErrorAction Stop }
}
@{
    Name = 'CSV row (Import-Csv) whose prompt holds a NUL'
    ErrorId = 'UnsavableText*'; Category = 'InvalidArgument'
    Setup = { param($ctx) [System.IO.File]::WriteAllText((Join-Path $ctx.Inputs 'rows.csv'), "Prompt,Seed`n`"a`0fox`",3`n") }
    Script = { param($ctx) Import-Csv (Join-Path $ctx.Inputs 'rows.csv') | Invoke-SdGeneration -Pipeline $ctx.Pipeline -Width 64 -Height 64 -Steps 2 -ErrorAction Stop }
}
@{
    Name = 'JSON job with an escaped lone surrogate (\ud800)'
    ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Script = { param($ctx) Invoke-SdRenderJob -Path (New-SdLimitsJob $ctx '[ "a \ud800 fox" ]') -ErrorAction Stop }
}
@{
    Name = 'JSON job with an escaped NUL (\u0000) in a prompt'
    ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Script = { param($ctx) Invoke-SdRenderJob -Path (New-SdLimitsJob $ctx '[ "a \u0000 fox" ]') -ErrorAction Stop }
}
@{
    Name = 'job seed range ending at 2^63-1 with three images per prompt'
    ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Script = { param($ctx) Invoke-SdRenderJob -Path (New-SdLimitsJob $ctx '[ { "Prompt": "a fox", "Seeds": "9223372036854775806-9223372036854775807", "ImagesPerPrompt": 3 } ]') -WhatIf -ErrorAction Stop }
}
@{
    Name = 'job seed range covering every seed (0-9223372036854775807)'
    ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Script = { param($ctx) Invoke-SdRenderJob -Path (New-SdLimitsJob $ctx '[ { "Prompt": "a fox", "Seeds": "0-9223372036854775807" } ]') -WhatIf -ErrorAction Stop }
}
@{
    Name = 'job seed past 2^63-1'
    ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Script = { param($ctx) Invoke-SdRenderJob -Path (New-SdLimitsJob $ctx '[ { "Prompt": "a fox", "Seeds": "9223372036854775808" } ]') -ErrorAction Stop }
}
@{
    Name = 'job with Steps 1000 on the PNDM model'
    ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Script = { param($ctx) Invoke-SdRenderJob -Path (New-SdLimitsJob $ctx '[ "a fox" ]' '"Seeds": 1, "Steps": 1000, "Width": 64, "Height": 64') -ErrorAction Stop }
}
@{
    Name = 'job with GuidanceScale 3.4e38'
    ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Script = { param($ctx) Invoke-SdRenderJob -Path (New-SdLimitsJob $ctx '[ { "Prompt": "a fox", "GuidanceScale": 3.4e38 } ]') -ErrorAction Stop }
}
@{
    Name = 'job prompt file line with a NUL'
    ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx) [System.IO.File]::WriteAllText((Join-Path $ctx.Inputs 'prompts.txt'), "a fox`nan `0owl`n") }
    Script = {
        param($ctx)
        $path = Join-Path $ctx.Inputs 'job.json'
        [System.IO.File]::WriteAllText($path, "{ `"Model`": $($ctx.Model | ConvertTo-Json), `"Provider`": `"Cpu`", `"Defaults`": { `"Seeds`": 1, `"Steps`": 2 }, " +
            "`"PromptFile`": `"prompts.txt`", `"OutputDirectory`": $($ctx.Output | ConvertTo-Json) }")
        Invoke-SdRenderJob -Path $path -ErrorAction Stop
    }
}
@{
    Name = 'name template {date:%%%}'
    ErrorId = 'InvalidNameTemplate*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed 1 -Width 64 -Height 64 -Steps 2 | Save-SdImage -Directory $ctx.Output -NameTemplate '{date:%%%}' -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq '{date:%%%}' }
}
@{
    Name = 'name template {prompt:abc} (not a length)'
    ErrorId = 'InvalidNameTemplate*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed 1 -Width 64 -Height 64 -Steps 2 | Save-SdImage -Directory $ctx.Output -NameTemplate '{index}-{prompt:abc}' -ErrorAction Stop }
}
@{
    Name = 'Save-SdImageGrid -Rows 100000 for two images'
    ErrorId = 'InvalidGridLayout*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed 1 -ImagesPerPrompt 2 -Width 64 -Height 64 -Steps 2 | Save-SdImageGrid -Path (Join-Path $ctx.Output 'grid.png') -Rows 100000 -ErrorAction Stop }
}
@{
    Name = 'Save-SdImageGrid one row 65600 pixels wide'
    ErrorId = 'GridTooLarge*'; Category = 'InvalidArgument'
    Script = {
        param($ctx)
        $image = Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed 1 -Width 64 -Height 64 -Steps 2
        @($image) * 1025 | Save-SdImageGrid -Path (Join-Path $ctx.Output 'grid.png') -Rows 1 -ErrorAction Stop
    }
    Target = { param($target, $ctx) $target -eq '65600x64' }
}
@{
    Name = 'Get-SdImageInfo on a PNG recording seed 99999999999999999999'
    ErrorId = 'ImageInfoUnreadable*'; Category = 'InvalidData'
    Setup = {
        param($ctx)
        $image = Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed 1 -Width 64 -Height 64 -Steps 2
        [StableDiffusion.Imaging.PngFile]::Save($image.Image, (Join-Path $ctx.Inputs 'big-seed.png'),
            "a cat`nSteps: 2, Sampler: PNDM, CFG scale: 7.5, Seed: 99999999999999999999, Size: 64x64", $false)
    }
    Script = { param($ctx) Get-SdImageInfo -Path (Join-Path $ctx.Inputs 'big-seed.png') -ErrorAction Stop }
}
