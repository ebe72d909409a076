# Hostile-input cases for what the module handled well when the suite was written: model folders, generation
# arguments, input images, schedulers, saving, grids, image info, tokens, float16 conversion, VAE swaps, attention
# slicing and render job files. Run by tests/Hostile.Tests.ps1 (the format is in tests/Hostile/README.md).
# Each script is self-contained: the inputs it needs are written under $ctx.Inputs, outputs go to $ctx.Output.

# --- New-SdPipeline: the model folder ----------------------------------------------------------------------------

@{
    Name = 'New-SdPipeline: a model folder that does not exist'; ErrorId = 'ModelFolderNotFound*'; Category = 'ObjectNotFound'
    Script = { param($ctx) New-SdPipeline -Path (Join-Path $ctx.Inputs 'no-such-model') -ExecutionProvider Cpu -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq (Join-Path $ctx.Inputs 'no-such-model') }
}
@{
    Name = 'New-SdPipeline: a file where the model folder should be'; ErrorId = 'ModelFolderNotFound*'; Category = 'ObjectNotFound'
    Setup = { param($ctx) Set-Content (Join-Path $ctx.Inputs 'model.onnx') 'not a folder' }
    Script = { param($ctx) New-SdPipeline -Path (Join-Path $ctx.Inputs 'model.onnx') -ExecutionProvider Cpu -ErrorAction Stop }
    Target = { param($target, $ctx) "$target" -like '*model.onnx' }
}
@{
    Name = 'New-SdPipeline: a folder without model_index.json'; ErrorId = 'ModelNotAModelFolder*'; Category = 'InvalidArgument'
    Script = { param($ctx) New-SdPipeline -Path $ctx.Inputs -ExecutionProvider Cpu -ErrorAction Stop }
    Target = { param($target, $ctx) "$target" -like "$($ctx.Inputs)*" }
}
@{
    Name = 'New-SdPipeline: model_index.json that is not JSON'; ErrorId = 'Model*'; Category = 'InvalidData'
    Setup = { param($ctx)
        New-SdBrokenModel (Join-Path $ctx.Inputs 'm') -Without 'model_index.json' | Out-Null
        Set-Content (Join-Path $ctx.Inputs 'm' 'model_index.json') '{ "_class_name": "StableDiffusionPipeline", '
    }
    Script = { param($ctx) New-SdPipeline -Path (Join-Path $ctx.Inputs 'm') -ExecutionProvider Cpu -ErrorAction Stop }
}
@{
    Name = 'New-SdPipeline: a model without its UNet'; ErrorId = 'ModelMissingComponent*'; Category = 'ObjectNotFound'
    Setup = { param($ctx) New-SdBrokenModel (Join-Path $ctx.Inputs 'm') -Without 'unet' | Out-Null }
    Script = { param($ctx) New-SdPipeline -Path (Join-Path $ctx.Inputs 'm') -ExecutionProvider Cpu -ErrorAction Stop }
    Target = { param($target, $ctx) "$target" -like '*unet*model.onnx' }
}
@{
    Name = 'New-SdPipeline: a model without its VAE decoder'; ErrorId = 'ModelMissingComponent*'; Category = 'ObjectNotFound'
    Setup = { param($ctx) New-SdBrokenModel (Join-Path $ctx.Inputs 'm') -Without 'vae_decoder' | Out-Null }
    Script = { param($ctx) New-SdPipeline -Path (Join-Path $ctx.Inputs 'm') -ExecutionProvider Cpu -ErrorAction Stop }
    Target = { param($target, $ctx) "$target" -like '*vae_decoder*' }
}
@{
    Name = 'New-SdPipeline: a truncated unet model.onnx'; ErrorId = 'Model*'; Category = 'InvalidData'
    Setup = { param($ctx)
        $m = New-SdBrokenModel (Join-Path $ctx.Inputs 'm') -Without 'unet'
        New-Item -ItemType Directory (Join-Path $m 'unet') | Out-Null
        Copy-Item (Join-Path $ctx.Model 'unet' 'config.json') (Join-Path $m 'unet') -ErrorAction Ignore
        $bytes = [IO.File]::ReadAllBytes((Join-Path $ctx.Model 'unet' 'model.onnx'))
        [IO.File]::WriteAllBytes((Join-Path $m 'unet' 'model.onnx'), $bytes[0..([int]($bytes.Length / 2))])
    }
    Script = { param($ctx) New-SdPipeline -Path (Join-Path $ctx.Inputs 'm') -ExecutionProvider Cpu -ErrorAction Stop }
}
@{
    Name = 'New-SdPipeline: a text encoder model.onnx of garbage bytes'; ErrorId = 'Model*'; Category = 'InvalidData'
    Setup = { param($ctx) New-SdBrokenModel (Join-Path $ctx.Inputs 'm') -Corrupt 'text_encoder' | Out-Null }
    Script = { param($ctx) New-SdPipeline -Path (Join-Path $ctx.Inputs 'm') -ExecutionProvider Cpu -ErrorAction Stop }
}
@{
    Name = 'New-SdPipeline: an empty tokenizer vocab.json'; ErrorId = 'Model*'; Category = 'InvalidData'
    Setup = { param($ctx)
        $m = New-SdBrokenModel (Join-Path $ctx.Inputs 'm') -Without 'tokenizer'
        New-Item -ItemType Directory (Join-Path $m 'tokenizer') | Out-Null
        Get-ChildItem (Join-Path $ctx.Model 'tokenizer') | Copy-Item -Destination (Join-Path $m 'tokenizer')
        Set-Content (Join-Path $m 'tokenizer' 'vocab.json') ''
    }
    Script = { param($ctx) New-SdPipeline -Path (Join-Path $ctx.Inputs 'm') -ExecutionProvider Cpu -ErrorAction Stop }
}
@{
    Name = 'New-SdPipeline: a model without its tokenizer'; ErrorId = 'ModelMissingComponent*'; Category = 'ObjectNotFound'
    Setup = { param($ctx) New-SdBrokenModel (Join-Path $ctx.Inputs 'm') -Without 'tokenizer' | Out-Null }
    Script = { param($ctx) New-SdPipeline -Path (Join-Path $ctx.Inputs 'm') -ExecutionProvider Cpu -ErrorAction Stop }
}
@{
    # The machines this suite runs on have no CUDA libraries (see the NoGpu test in Errors.Tests.ps1).
    Name = 'New-SdPipeline: -ExecutionProvider Cuda without CUDA'; ErrorId = 'ModelProviderUnavailable*'; Category = 'ResourceUnavailable'
    Script = { param($ctx) New-SdPipeline -Path $ctx.Model -ExecutionProvider Cuda -ErrorAction Stop }
}

@{
    Name = 'New-SdPipeline: a -VaePath folder that does not exist'; ErrorId = 'InvalidVae*'; Category = 'ObjectNotFound'
    Script = { param($ctx) New-SdPipeline -Path $ctx.Model -ExecutionProvider Cpu -VaePath (Join-Path $ctx.Inputs 'no-vae') -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq (Join-Path $ctx.Inputs 'no-vae') }
}
@{
    Name = 'New-SdPipeline: -Precision Float16 on a float32 model'; ErrorId = 'ModelPrecisionMismatch*'; Category = 'InvalidArgument'
    Script = { param($ctx) New-SdPipeline -Path $ctx.Model -ExecutionProvider Cpu -Precision Float16 -ErrorAction Stop }
    Target = { param($target, $ctx) "$target" -like "$($ctx.Model)*" }
}

# --- Invoke-SdGeneration: arguments ------------------------------------------------------------------------------

@{
    Name = 'Invoke-SdGeneration: a width that is not a multiple of 8'; ErrorId = 'InvalidGenerationArgument*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 70 -Height 64 -Seed 1 -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: a height that is not a multiple of 8'; ErrorId = 'InvalidGenerationArgument*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 64 -Height 63 -Seed 1 -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: a negative width'; ErrorId = 'InvalidGenerationArgument*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width -64 -Height 64 -Seed 1 -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: zero steps'; ErrorId = 'InvalidGenerationArgument*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 0 -Width 64 -Height 64 -Seed 1 -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: negative steps'; ErrorId = 'InvalidGenerationArgument*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps -5 -Width 64 -Height 64 -Seed 1 -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: a NaN guidance scale'; ErrorId = 'GuidanceScaleOutOfRange*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 64 -Height 64 -Seed 1 -GuidanceScale ([double]::NaN) -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: an infinite guidance scale'; ErrorId = 'GuidanceScaleOutOfRange*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 64 -Height 64 -Seed 1 -GuidanceScale ([double]::PositiveInfinity) -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: a negative seed'; ErrorId = 'SeedOutOfRange*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 64 -Height 64 -Seed -5 -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: more seeds than prompts'; ErrorId = 'InvalidGenerationArgument*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'a', 'b' -Steps 2 -Width 64 -Height 64 -Seed 1, 2, 3 -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: zero images per prompt'; ErrorId = 'ImagesPerPromptOutOfRange*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 64 -Height 64 -Seed 1 -ImagesPerPrompt 0 -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: a batch size of zero'; ErrorId = 'InvalidBatchSize*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 64 -Height 64 -Seed 1 -BatchSize 0 -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: a disposed pipeline'; ErrorId = 'PipelineDisposed*'; Category = 'InvalidOperation'
    Script = { param($ctx)
        $p = New-SdPipeline -Path $ctx.Model -ExecutionProvider Cpu
        $p.Dispose()
        Invoke-SdGeneration -Pipeline $p -Prompt 'x' -Steps 2 -Width 64 -Height 64 -Seed 1 -ErrorAction Stop
    }
}
@{
    Name = 'Invoke-SdGeneration: a denoising end above 1'; ErrorId = 'InvalidGenerationArgument*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -DenoisingEnd 1.5 -Steps 2 -Width 64 -Height 64 -Seed 1 -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: a negative clip skip'; ErrorId = 'InvalidGenerationArgument*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -ClipSkip -1 -Steps 2 -Width 64 -Height 64 -Seed 1 -ErrorAction Stop }
}

@{
    Name = 'Invoke-SdGeneration: a NaN eta'; ErrorId = 'EtaOutOfRange*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Eta ([double]::NaN) -Steps 2 -Width 64 -Height 64 -Seed 1 -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: a guidance rescale above 1'; ErrorId = 'InvalidGenerationArgument*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -GuidanceRescale 5 -Steps 2 -Width 64 -Height 64 -Seed 1 -ErrorAction Stop }
}

# --- Set-SdScheduler ---------------------------------------------------------------------------------------------

@{
    Name = 'Set-SdScheduler: an unknown scheduler name'; ErrorId = 'InvalidScheduler*'; Category = 'InvalidArgument'
    Script = { param($ctx) Set-SdScheduler -Pipeline $ctx.Pipeline -Name 'Eulr' -ErrorAction Stop }
}
@{
    Name = 'Set-SdScheduler: a bad scheduler option'; ErrorId = '*Scheduler*'; Category = 'InvalidArgument'
    Script = { param($ctx) Set-SdScheduler -Pipeline $ctx.Pipeline -Name 'EulerDiscreteScheduler' -Option @{ beta_start = 'low' } -ErrorAction Stop }
}

# --- Invoke-SdGeneration: init image and mask --------------------------------------------------------------------

@{
    Name = 'Invoke-SdGeneration: a strength above 1'; ErrorId = '*Strength*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -InitImage (Join-Path $ctx.Fixtures 'tiny-sd' 'expected' 'img2img-diffusers-0.35' 'inputs' 'img_64x64.png') -Strength 1.5 -Steps 2 -Seed 1 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq 1.5 }
}
@{
    Name = 'Invoke-SdGeneration: a negative strength'; ErrorId = '*Strength*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -InitImage (Join-Path $ctx.Fixtures 'tiny-sd' 'expected' 'img2img-diffusers-0.35' 'inputs' 'img_64x64.png') -Strength -0.1 -Steps 2 -Seed 1 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq -0.1 }
}
@{
    Name = 'Invoke-SdGeneration: a strength without an init image'; ErrorId = '*Strength*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Strength 0.5 -Steps 2 -Width 64 -Height 64 -Seed 1 -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: a mask without an init image'; ErrorId = '*Mask*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Mask (Join-Path $ctx.Fixtures 'tiny-sd' 'expected' 'img2img-diffusers-0.35' 'inputs' 'img_64x64.png') -Steps 2 -Width 64 -Height 64 -Seed 1 -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: a crop padding without a mask'; ErrorId = '*Crop*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -InitImage (Join-Path $ctx.Fixtures 'tiny-sd' 'expected' 'img2img-diffusers-0.35' 'inputs' 'img_64x64.png') -MaskCropPadding 8 -Steps 2 -Seed 1 -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: a mask of another size than the init image'; ErrorId = '*Mask*'; Category = 'InvalidArgument'
    Script = { param($ctx)
        $mask = Join-Path $ctx.Fixtures 'tiny-sd' 'expected' 'inpaint-diffusers-0.35' 'inputs' 'mask_96x64_L.png'
        Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -InitImage (Join-Path $ctx.Fixtures 'tiny-sd' 'expected' 'img2img-diffusers-0.35' 'inputs' 'img_64x64.png') -Mask $mask -Steps 2 -Seed 1 -ErrorAction Stop
    }
}
@{
    Name = 'Invoke-SdGeneration: an init image file that does not exist'; ErrorId = '*'; Category = 'ObjectNotFound'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -InitImage (Join-Path $ctx.Inputs 'missing.png') -Steps 2 -Seed 1 -ErrorAction Stop }
    Target = { param($target, $ctx) "$target" -like '*missing.png' }
}
@{
    Name = 'Invoke-SdGeneration: an init image of garbage bytes'; ErrorId = '*'; Category = 'InvalidData'
    Setup = { param($ctx) [IO.File]::WriteAllBytes((Join-Path $ctx.Inputs 'garbage.png'), [byte[]](1..300 | ForEach-Object { ($_ * 37) % 256 })) }
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -InitImage (Join-Path $ctx.Inputs 'garbage.png') -Steps 2 -Seed 1 -ErrorAction Stop }
    Target = { param($target, $ctx) "$target" -like '*garbage.png' }
}
@{
    Name = 'Invoke-SdGeneration: an empty init image file'; ErrorId = '*'; Category = 'InvalidData'
    Setup = { param($ctx) [IO.File]::WriteAllBytes((Join-Path $ctx.Inputs 'empty.png'), [byte[]]@()) }
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -InitImage (Join-Path $ctx.Inputs 'empty.png') -Steps 2 -Seed 1 -ErrorAction Stop }
    Target = { param($target, $ctx) "$target" -like '*empty.png' }
}
@{
    Name = 'Invoke-SdGeneration: a PNG cut off after its header as the init image'; ErrorId = '*'; Category = 'InvalidData'
    Setup = { param($ctx)
        $bytes = [IO.File]::ReadAllBytes((Join-Path $ctx.Fixtures 'tiny-sd' 'expected' 'img2img-diffusers-0.35' 'inputs' 'img_64x64.png'))
        [IO.File]::WriteAllBytes((Join-Path $ctx.Inputs 'cut.png'), $bytes[0..40])
    }
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -InitImage (Join-Path $ctx.Inputs 'cut.png') -Steps 2 -Seed 1 -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdGeneration: a mask file of garbage bytes'; ErrorId = '*'; Category = 'InvalidData'
    Setup = { param($ctx) Set-Content (Join-Path $ctx.Inputs 'mask.png') 'this is not an image' }
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -InitImage (Join-Path $ctx.Fixtures 'tiny-sd' 'expected' 'img2img-diffusers-0.35' 'inputs' 'img_64x64.png') -Mask (Join-Path $ctx.Inputs 'mask.png') -Steps 2 -Seed 1 -ErrorAction Stop }
    Target = { param($target, $ctx) "$target" -like '*mask.png' }
}

@{
    Name = 'Invoke-SdGeneration: a negative crop padding'; ErrorId = 'InvalidMaskCropPadding*'; Category = 'InvalidArgument'
    Script = { param($ctx)
        $inputs = Join-Path $ctx.Fixtures 'tiny-sd' 'expected' 'inpaint-diffusers-0.35' 'inputs'
        Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -InitImage (Join-Path $inputs 'img_64x64.png') -Mask (Join-Path $inputs 'mask_rect_64x64_L.png') -MaskCropPadding -4 -Steps 2 -Seed 1 -ErrorAction Stop
    }
    Target = { param($target, $ctx) $target -eq -4 }
}

# --- Save-SdImage and Save-SdImageGrid ---------------------------------------------------------------------------

@{
    Name = 'Save-SdImage: onto a file that exists, without -Force'; ErrorId = 'SaveFailed*'; Category = 'WriteError'
    Setup = { param($ctx) Set-Content (Join-Path $ctx.Inputs 'taken.png') 'keep me' }
    Script = { param($ctx)
        Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 64 -Height 64 -Seed 1 |
            Save-SdImage -Path (Join-Path $ctx.Inputs 'taken.png') -ErrorAction Stop
    }
    Target = { param($target, $ctx) "$target" -like '*taken.png' -and (Get-Content (Join-Path $ctx.Inputs 'taken.png')) -eq 'keep me' }
}
@{
    Name = 'Save-SdImage: a name template with an unknown field'; ErrorId = 'InvalidNameTemplate*'; Category = 'InvalidArgument'
    Script = { param($ctx)
        Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 64 -Height 64 -Seed 1 |
            Save-SdImage -Directory $ctx.Output -NameTemplate '{nope}-{seed}' -ErrorAction Stop
    }
}
@{
    Name = 'Save-SdImage: into a pseudo file system that refuses writes'; ErrorId = '*'; Category = 'WriteError'
    Script = { param($ctx)
        Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 64 -Height 64 -Seed 1 |
            Save-SdImage -Path '/proc/sd-hostile.png' -ErrorAction Stop
    }
}
@{
    Name = 'Save-SdImage: a directory that is a file'; ErrorId = '*'; Category = 'WriteError'
    Setup = { param($ctx) Set-Content (Join-Path $ctx.Inputs 'file') 'a file' }
    Script = { param($ctx)
        Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 64 -Height 64 -Seed 1 |
            Save-SdImage -Directory (Join-Path $ctx.Inputs 'file') -ErrorAction Stop
    }
}
@{
    Name = 'Save-SdImageGrid: fewer cells than images'; ErrorId = 'InvalidGridLayout*'; Category = 'InvalidArgument'
    Script = { param($ctx)
        Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 64 -Height 64 -Seed 1 -ImagesPerPrompt 3 |
            Save-SdImageGrid -Path (Join-Path $ctx.Output 'grid.png') -Rows 1 -Columns 2 -ErrorAction Stop
    }
}
@{
    Name = 'Save-SdImageGrid: zero rows'; ErrorId = '*'; Category = 'InvalidArgument'
    Script = { param($ctx)
        Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 64 -Height 64 -Seed 1 |
            Save-SdImageGrid -Path (Join-Path $ctx.Output 'grid.png') -Rows 0 -ErrorAction Stop
    }
}

@{
    Name = 'Save-SdImage: a name template that leaves the directory'; ErrorId = 'InvalidNameTemplate*'; Category = 'InvalidArgument'
    Script = { param($ctx)
        Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 64 -Height 64 -Seed 1 |
            Save-SdImage -Directory (Join-Path $ctx.Output 'renders') -NameTemplate '../{seed}' -ErrorAction Stop
    }
    Target = { param($target, $ctx) $target -eq '../{seed}' }
}
@{
    Name = 'Save-SdImage: latents piped in instead of an image'; ErrorId = 'InputObjectNotBound*'; Category = 'InvalidArgument'
    Script = { param($ctx)
        Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 64 -Height 64 -Seed 1 -OutputType Latent |
            Save-SdImage -Path (Join-Path $ctx.Output 'latents.png') -ErrorAction Stop
    }
}
@{
    Name = 'Save-SdImage: a string piped in instead of an image'; ErrorId = 'InputObjectNotBound*'; Category = 'InvalidArgument'
    Script = { param($ctx) 'not an image' | Save-SdImage -Path (Join-Path $ctx.Output 'text.png') -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq 'not an image' }
}

# --- Get-SdImageInfo ---------------------------------------------------------------------------------------------

@{
    Name = 'Get-SdImageInfo: a file that does not exist'; ErrorId = 'ImageNotFound*'; Category = 'ObjectNotFound'
    Script = { param($ctx) Get-SdImageInfo -LiteralPath (Join-Path $ctx.Inputs 'missing.png') -ErrorAction Stop }
    Target = { param($target, $ctx) "$target" -like '*missing.png' }
}
@{
    Name = 'Get-SdImageInfo: a PNG name on garbage bytes'; ErrorId = 'ImageInfoUnreadable*'; Category = 'InvalidData'
    Setup = { param($ctx) [IO.File]::WriteAllBytes((Join-Path $ctx.Inputs 'garbage.png'), [byte[]](1..300 | ForEach-Object { ($_ * 91) % 256 })) }
    Script = { param($ctx) Get-SdImageInfo -LiteralPath (Join-Path $ctx.Inputs 'garbage.png') -ErrorAction Stop }
    Target = { param($target, $ctx) "$target" -like '*garbage.png' }
}
@{
    Name = 'Get-SdImageInfo: an empty file'; ErrorId = 'ImageInfoUnreadable*'; Category = 'InvalidData'
    Setup = { param($ctx) [IO.File]::WriteAllBytes((Join-Path $ctx.Inputs 'empty.png'), [byte[]]@()) }
    Script = { param($ctx) Get-SdImageInfo -LiteralPath (Join-Path $ctx.Inputs 'empty.png') -ErrorAction Stop }
}
@{
    Name = 'Get-SdImageInfo: a text file'; ErrorId = 'ImageInfoUnreadable*'; Category = 'InvalidData'
    Setup = { param($ctx) Set-Content (Join-Path $ctx.Inputs 'notes.txt') 'prompt: a cat' }
    Script = { param($ctx) Get-SdImageInfo -LiteralPath (Join-Path $ctx.Inputs 'notes.txt') -ErrorAction Stop }
}
@{
    Name = 'Get-SdImageInfo: a PNG without generation parameters'; ErrorId = 'ImageInfo*'; Category = 'InvalidData'
    Script = { param($ctx) Get-SdImageInfo -LiteralPath (Join-Path $ctx.Fixtures 'tiny-sd' 'expected' 'img2img-diffusers-0.35' 'inputs' 'img_64x64.png') -ErrorAction Stop }
}
@{
    Name = 'Get-SdImageInfo: a folder'; ErrorId = 'ImageIsFolder*'; Category = 'InvalidArgument'
    Script = { param($ctx) Get-SdImageInfo -LiteralPath $ctx.Inputs -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq $ctx.Inputs }
}

# --- Get-SdScheduler ---------------------------------------------------------------------------------------------

@{
    Name = 'Get-SdScheduler: an unknown scheduler name'; ErrorId = 'UnknownScheduler*'; Category = 'InvalidArgument'
    Script = { param($ctx) Get-SdScheduler -Name 'NoSuchScheduler' -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq 'NoSuchScheduler' }
}

# --- ConvertTo-SdFloat16, Set-SdVae, Enable-SdAttentionSlicing ---------------------------------------------------

@{
    Name = 'ConvertTo-SdFloat16: a source folder that does not exist'; ErrorId = 'Model*'; Category = 'ObjectNotFound'
    Script = { param($ctx) ConvertTo-SdFloat16 -Path (Join-Path $ctx.Inputs 'no-model') -Destination (Join-Path $ctx.Output 'fp16') -ErrorAction Stop }
}
@{
    Name = 'ConvertTo-SdFloat16: a source folder that is not a model'; ErrorId = 'Model*'; Category = 'InvalidArgument'
    Script = { param($ctx) ConvertTo-SdFloat16 -Path $ctx.Inputs -Destination (Join-Path $ctx.Output 'fp16') -ErrorAction Stop }
}
@{
    Name = 'Set-SdVae: a folder that does not exist'; ErrorId = '*Vae*'; Category = 'ObjectNotFound'
    Script = { param($ctx) Set-SdVae -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Inputs 'no-vae') -ErrorAction Stop }
    Target = { param($target, $ctx) "$target" -like '*no-vae*' }
}
@{
    Name = 'Set-SdVae: a folder without a VAE model'; ErrorId = '*Vae*'; Category = 'ObjectNotFound'
    Script = { param($ctx) Set-SdVae -Pipeline $ctx.Pipeline -Path $ctx.Inputs -ErrorAction Stop }
}
@{
    Name = 'Set-SdVae: a corrupt VAE model'; ErrorId = '*Vae*'; Category = 'InvalidData'
    Setup = { param($ctx) [IO.File]::WriteAllBytes((Join-Path $ctx.Inputs 'model.onnx'), [byte[]](1..200 | ForEach-Object { $_ % 7 })) }
    Script = { param($ctx) Set-SdVae -Pipeline $ctx.Pipeline -Path $ctx.Inputs -ErrorAction Stop }
}
@{
    Name = 'Enable-SdAttentionSlicing: a slice size that is not a size'; ErrorId = 'InvalidSliceSize*'; Category = 'InvalidArgument'
    Script = { param($ctx) Enable-SdAttentionSlicing -Pipeline $ctx.Pipeline -SliceSize 'banana' -ErrorAction Stop }
}
@{
    Name = 'Enable-SdAttentionSlicing: a slice size of zero'; ErrorId = 'InvalidSliceSize*'; Category = 'InvalidArgument'
    Script = { param($ctx) Enable-SdAttentionSlicing -Pipeline $ctx.Pipeline -SliceSize '0' -ErrorAction Stop }
}
@{
    Name = 'Enable-SdAttentionSlicing: a negative slice size'; ErrorId = 'InvalidSliceSize*'; Category = 'InvalidArgument'
    Script = { param($ctx) Enable-SdAttentionSlicing -Pipeline $ctx.Pipeline -SliceSize '-3' -ErrorAction Stop }
}

@{
    Name = 'ConvertTo-SdFloat16: a destination that is an existing file'; ErrorId = 'DestinationIsFile*'; Category = 'InvalidArgument'
    Setup = { param($ctx) Set-Content (Join-Path $ctx.Inputs 'taken') 'keep me' }
    Script = { param($ctx) ConvertTo-SdFloat16 -Path $ctx.Model -Destination (Join-Path $ctx.Inputs 'taken') -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq (Join-Path $ctx.Inputs 'taken') -and (Get-Content $target) -eq 'keep me' }
}
@{
    Name = 'Set-SdVae: a folder holding another graph than a VAE decoder'; ErrorId = 'InvalidVae*'; Category = 'InvalidData'
    Script = { param($ctx) Set-SdVae -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Model 'unet') -ErrorAction Stop }
}

# --- Invoke-SdRenderJob: job files -------------------------------------------------------------------------------

@{
    Name = 'Invoke-SdRenderJob: a job file that does not exist'; ErrorId = 'JobFileNotFound*'; Category = 'ObjectNotFound'
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'missing.psd1') -ErrorAction Stop }
    Target = { param($target, $ctx) "$target" -like '*missing.psd1' }
}
@{
    Name = 'Invoke-SdRenderJob: a JSON job that is not JSON'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx) Set-Content (Join-Path $ctx.Inputs 'job.json') "{ `"Model`": `"x`", `"Prompts`": [ `"a`" " }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.json') -ErrorAction Stop }
    Target = { param($target, $ctx) "$target" -like '*job.json' }
}
@{
    Name = 'Invoke-SdRenderJob: a job without its required keys'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx) Set-Content (Join-Path $ctx.Inputs 'job.psd1') '@{ }' }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdRenderJob: a job with an unknown key'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx)
        "@{ Model = '$($ctx.Model)'; Prompts = 'a'; OutputDirectory = '$($ctx.Output)'; Sheduler = 'Euler'; Defaults = @{ Seeds = 1; Steps = 2; Width = 64; Height = 64 } }" |
            Set-Content (Join-Path $ctx.Inputs 'job.psd1')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdRenderJob: a seed range that runs backwards'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx)
        "@{ Model = '$($ctx.Model)'; Prompts = 'a'; OutputDirectory = '$($ctx.Output)'; Defaults = @{ Seeds = '5-1'; Steps = 2; Width = 64; Height = 64 } }" |
            Set-Content (Join-Path $ctx.Inputs 'job.psd1')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdRenderJob: a seed that is not a number'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx)
        "@{ Model = '$($ctx.Model)'; Prompts = 'a'; OutputDirectory = '$($ctx.Output)'; Defaults = @{ Seeds = 'abc'; Steps = 2; Width = 64; Height = 64 } }" |
            Set-Content (Join-Path $ctx.Inputs 'job.psd1')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdRenderJob: a width that is not a multiple of 8'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx)
        "@{ Model = '$($ctx.Model)'; Prompts = 'a'; OutputDirectory = '$($ctx.Output)'; Defaults = @{ Seeds = 1; Steps = 2; Width = 60; Height = 64 } }" |
            Set-Content (Join-Path $ctx.Inputs 'job.psd1')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdRenderJob: a prompt file that does not exist'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx)
        "@{ Model = '$($ctx.Model)'; PromptFile = 'missing.csv'; OutputDirectory = '$($ctx.Output)'; Defaults = @{ Seeds = 1; Steps = 2; Width = 64; Height = 64 } }" |
            Set-Content (Join-Path $ctx.Inputs 'job.psd1')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdRenderJob: a .psd1 job with code in it'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx)
        "@{ Model = '$($ctx.Model)'; Prompts = 'a'; OutputDirectory = (Join-Path `$HOME 'x'); Defaults = @{ Seeds = 1; Steps = 2; Width = 64; Height = 64 } }" |
            Set-Content (Join-Path $ctx.Inputs 'job.psd1')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdRenderJob: an unknown scheduler'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx)
        "@{ Model = '$($ctx.Model)'; Prompts = 'a'; Scheduler = 'Eulr'; OutputDirectory = '$($ctx.Output)'; Defaults = @{ Seeds = 1; Steps = 2; Width = 64; Height = 64 } }" |
            Set-Content (Join-Path $ctx.Inputs 'job.psd1')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdRenderJob: a model folder that does not exist'; ErrorId = '*'; Category = 'InvalidData'
    Setup = { param($ctx)
        "@{ Model = '$(Join-Path $ctx.Inputs 'no-model')'; Prompts = 'a'; OutputDirectory = '$($ctx.Output)'; Defaults = @{ Seeds = 1; Steps = 2; Width = 64; Height = 64 } }" |
            Set-Content (Join-Path $ctx.Inputs 'job.psd1')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdRenderJob: an init image that is garbage'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx)
        Set-Content (Join-Path $ctx.Inputs 'init.png') 'not an image'
        "@{ Model = '$($ctx.Model)'; Prompts = 'a'; OutputDirectory = '$($ctx.Output)'; Defaults = @{ Seeds = 1; Steps = 2; InitImage = 'init.png'; Strength = 0.5 } }" |
            Set-Content (Join-Path $ctx.Inputs 'job.psd1')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdRenderJob: an empty .psd1 file'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx) Set-Content (Join-Path $ctx.Inputs 'job.psd1') '' }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq (Join-Path $ctx.Inputs 'job.psd1') }
}
@{
    Name = 'Invoke-SdRenderJob: a JSON job whose top level is an array'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx) Set-Content (Join-Path $ctx.Inputs 'job.json') '[1, 2]' }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.json') -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdRenderJob: an unknown provider'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx)
        "@{ Model = '$($ctx.Model)'; Prompts = 'a'; Provider = 'Gpu'; OutputDirectory = '$($ctx.Output)'; Defaults = @{ Seeds = 1; Steps = 2; Width = 64; Height = 64 } }" |
            Set-Content (Join-Path $ctx.Inputs 'job.psd1')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdRenderJob: an output directory below a file'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx)
        Set-Content (Join-Path $ctx.Inputs 'file') 'a file'
        "@{ Model = '$($ctx.Model)'; Prompts = 'a'; OutputDirectory = 'file/out'; Defaults = @{ Seeds = 1; Steps = 2; Width = 64; Height = 64 } }" |
            Set-Content (Join-Path $ctx.Inputs 'job.psd1')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdRenderJob: a name template with {date}'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx)
        "@{ Model = '$($ctx.Model)'; Prompts = 'a'; NameTemplate = '{date}-{seed}'; OutputDirectory = '$($ctx.Output)'; Defaults = @{ Seeds = 1; Steps = 2; Width = 64; Height = 64 } }" |
            Set-Content (Join-Path $ctx.Inputs 'job.psd1')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdRenderJob: a name template that gives two images one name'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx)
        "@{ Model = '$($ctx.Model)'; Prompts = 'a'; NameTemplate = 'same'; OutputDirectory = '$($ctx.Output)'; Defaults = @{ Seeds = '1-2'; Steps = 2; Width = 64; Height = 64 } }" |
            Set-Content (Join-Path $ctx.Inputs 'job.psd1')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Invoke-SdRenderJob: a prompt CSV cell that is not a number'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx)
        "Prompt,Steps`na cat,ten" | Set-Content (Join-Path $ctx.Inputs 'prompts.csv')
        "@{ Model = '$($ctx.Model)'; PromptFile = 'prompts.csv'; OutputDirectory = '$($ctx.Output)'; Defaults = @{ Seeds = 1; Width = 64; Height = 64 } }" |
            Set-Content (Join-Path $ctx.Inputs 'job.psd1')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}

# SDXL-only settings on an SD 1.x model are refused by name, never silently ignored; paths holding NUL are named.
foreach ($sdxlOnly in @(
        @{ Name = 'Prompt2'; Args = @{ Prompt2 = 'a second prompt' } }
        @{ Name = 'NegativePrompt2'; Args = @{ NegativePrompt2 = 'blurry' } }
        @{ Name = 'OriginalSize'; Args = @{ OriginalSize = 1024, 1024 } }
        @{ Name = 'TargetSize'; Args = @{ TargetSize = 1024, 1024 } }
        @{ Name = 'AestheticScore'; Args = @{ AestheticScore = 6 } })) {
    $a = $sdxlOnly.Args
    @{
        Name = "Invoke-SdGeneration: SDXL's -$($sdxlOnly.Name) on an SD 1.x model"; ErrorId = 'SdxlOnlySetting*'; Category = 'InvalidArgument'
        Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 64 -Height 64 @a -ErrorAction Stop }.GetNewClosure()
    }
}
@{
    Name = 'Invoke-SdGeneration: an init image path holding NUL'; ErrorId = 'InitImageInvalidPath*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -InitImage "a`0b.png" -ErrorAction Stop }
}
@{
    Name = 'New-SdPipeline: a model path holding NUL'; ErrorId = 'InvalidModelPath*'; Category = 'InvalidArgument'
    Script = { param($ctx) New-SdPipeline -Path "mod`0el" -ExecutionProvider Cpu -ErrorAction Stop }
}
@{
    Name = 'Save-SdImageGrid: nothing piped to it'; ErrorId = 'NoImages*'; Category = 'InvalidArgument'
    Script = { param($ctx) @() | Save-SdImageGrid -Path (Join-Path $ctx.Output 'grid.png') -ErrorAction Stop }
}
@{
    Name = 'Save-SdImage: a path on a drive PowerShell does not have'; ErrorId = 'DestinationPathNotFound*'; Category = 'ObjectNotFound'
    Script = { param($ctx)
        Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Steps 2 -Width 64 -Height 64 -Seed 1 | Save-SdImage -Path 'NoSuchDrive:/a.png' -ErrorAction Stop
    }
}
