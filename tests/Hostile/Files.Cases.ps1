# Hostile cases for files, IO and model configs (issue 13). Each hashtable is one case for tests/Hostile.Tests.ps1.
# Model-config cases copy tiny-sd (without its expected outputs) to $ctx.Inputs/m in Setup and corrupt one file there.

# The copy, inlined in each Setup so a case runs in whatever scope the runner invokes it.
$copyModel = 'New-Item -ItemType Directory (Join-Path $ctx.Inputs m) | Out-Null; Get-ChildItem $ctx.Model -Exclude expected, README.md | Copy-Item -Destination (Join-Path $ctx.Inputs m) -Recurse'

function New-FilesConfigCase([string]$Name, [string]$File, [string]$Json, [string]$Merge) {
    # $Json replaces the file; $Merge sets one key ("key=jsonvalue") in the existing JSON.
    $setup = $copyModel + "`n" + $(if ($Merge) {
        $key, $value = $Merge -split '=', 2
        "`$f = Join-Path `$ctx.Inputs m '$File'; `$j = Get-Content -Raw `$f | ConvertFrom-Json -AsHashtable; `$j['$key'] = ('$value' | ConvertFrom-Json -NoEnumerate); `$j | ConvertTo-Json -Depth 5 | Set-Content `$f"
    } else {
        "Set-Content (Join-Path `$ctx.Inputs m '$File') '$Json'"
    })
    $leaf = ($File -split '[\\/]')[-1]
    @{
        Name     = $Name
        ErrorId  = 'ModelInvalidFile*'
        Category = 'InvalidData'
        Setup    = [scriptblock]::Create("param(`$ctx) $setup")
        Script   = { param($ctx) New-SdPipeline -Path (Join-Path $ctx.Inputs m) -ExecutionProvider Cpu -ErrorAction Stop }
        Target   = [scriptblock]::Create("param(`$target, `$ctx) `"`$target`" -like '*$leaf'")
    }
}

New-FilesConfigCase 'vae config scaling_factor 0 (black images)' 'vae_decoder/config.json' '{ "scaling_factor": 0 }'
New-FilesConfigCase 'vae config scaling_factor a string' 'vae_decoder/config.json' '{ "scaling_factor": "0.18215" }'
New-FilesConfigCase 'vae config scaling_factor beyond double (1e999)' 'vae_decoder/config.json' '{ "scaling_factor": 1e999 }'
New-FilesConfigCase 'vae config scaling_factor negative' 'vae_decoder/config.json' '{ "scaling_factor": -0.18215 }'
New-FilesConfigCase 'vae config shift_factor not a number' 'vae_decoder/config.json' '{ "shift_factor": [1] }'
New-FilesConfigCase 'vae config block_out_channels empty' 'vae_decoder/config.json' '{ "block_out_channels": [] }'
New-FilesConfigCase 'unet config sample_size 0' 'unet/config.json' '{ "sample_size": 0 }'
New-FilesConfigCase 'unet config in_channels a string' 'unet/config.json' '{ "in_channels": "4" }'
New-FilesConfigCase 'scheduler config beta_end a string' 'scheduler/scheduler_config.json' -Merge 'beta_end="high"'
New-FilesConfigCase 'scheduler config num_train_timesteps 0' 'scheduler/scheduler_config.json' -Merge 'num_train_timesteps=0'
New-FilesConfigCase 'scheduler config beta_start 0' 'scheduler/scheduler_config.json' -Merge 'beta_start=0'
New-FilesConfigCase 'scheduler config with an unknown _class_name names the file' 'scheduler/scheduler_config.json' -Merge '_class_name="FancyNewScheduler"'
New-FilesConfigCase 'model_index force_zeros_for_empty_prompt not a boolean' 'model_index.json' -Merge 'force_zeros_for_empty_prompt="yes"'

@{
    Name     = 'replacement VAE with scaling_factor 0'
    ErrorId  = 'InvalidVae*'
    Category = 'InvalidData'
    Setup    = { param($ctx)
        $vae = New-Item -ItemType Directory (Join-Path $ctx.Inputs vae)
        Copy-Item (Join-Path $ctx.Model vae_decoder model.onnx) $vae
        Set-Content (Join-Path $vae config.json) '{ "scaling_factor": 0 }' }
    # Refused while the folder is read, before the shared pipeline is touched (no session is created, nothing swapped).
    Script   = { param($ctx) Set-SdVae -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Inputs vae) -ErrorAction Stop }
    Target   = { param($target, $ctx) "$target" -like '*config.json' }
}

@{
    Name     = 'model path is a symbolic link loop (not "is a file")'
    ErrorId  = 'ModelFolderNotFound*'
    Category = 'ObjectNotFound'
    Setup    = { param($ctx)
        New-Item -ItemType SymbolicLink -Path (Join-Path $ctx.Inputs a) -Target (Join-Path $ctx.Inputs b) | Out-Null
        New-Item -ItemType SymbolicLink -Path (Join-Path $ctx.Inputs b) -Target (Join-Path $ctx.Inputs a) | Out-Null }
    Script   = { param($ctx)
        try { New-SdPipeline -Path (Join-Path $ctx.Inputs a) -ExecutionProvider Cpu -ErrorAction Stop }
        catch { if ($_.Exception.Message -notmatch 'loops') { throw "the message does not say the link loops: $($_.Exception.Message)" }; throw } }
    Target   = { param($target, $ctx) "$target" -eq (Join-Path $ctx.Inputs a) }
}

foreach ($size in @(@{ W = 72; H = 64 }, @{ W = 64; H = 40 }, @{ W = 24; H = 24 })) {
    @{
        Name     = "size $($size.W)x$($size.H): a multiple of 8 but not of the fixture UNet's 16-pixel step"
        ErrorId  = 'InvalidGenerationArgument*'
        Category = 'InvalidArgument'
        Script   = [scriptblock]::Create("param(`$ctx) try { Invoke-SdGeneration -Pipeline `$ctx.Pipeline -Prompt 'x' -Seed 1 -Steps 2 -Width $($size.W) -Height $($size.H) -ErrorAction Stop } " +
            "catch { if (`$_.Exception.Message -notmatch 'must be a multiple of 16') { throw `"not the size rule: `$(`$_.Exception.Message)`" }; throw }")
    }
}

@{
    Name     = 'ConvertTo-SdFloat16 with a corrupt source UNet leaves no destination'
    ErrorId  = 'CorruptSourceModel*'
    Category = 'InvalidData'
    Setup    = [scriptblock]::Create("param(`$ctx) $copyModel; [IO.File]::WriteAllBytes((Join-Path `$ctx.Inputs m unet model.onnx), [byte[]](10, 255, 255, 255, 127, 1))")
    Script   = { param($ctx) ConvertTo-SdFloat16 -Path (Join-Path $ctx.Inputs m) -Destination (Join-Path $ctx.Output fp16) -ErrorAction Stop }
    Target   = { param($target, $ctx) "$target" -like '*unet*model.onnx' }
}

@{
    Name     = 'ConvertTo-SdFloat16 into a folder that cannot be written'
    ErrorId  = 'DestinationAccessDenied*'
    Category = 'PermissionDenied'
    Setup    = { param($ctx)
        # chmod does not stop root: there, /sys (which refuses new folders) stands in for a read-only destination.
        if ([Environment]::UserName -ne 'root') { $ro = New-Item -ItemType Directory (Join-Path $ctx.Inputs ro); chmod 555 $ro.FullName } }
    Script   = { param($ctx)
        $dest = if ([Environment]::UserName -eq 'root') { "/sys/sd-hostile-$([guid]::NewGuid().ToString('N'))" } else { Join-Path $ctx.Inputs ro fp16 }
        ConvertTo-SdFloat16 -Path $ctx.Model -Destination $dest -ErrorAction Stop }
}

@{
    Name     = 'ConvertTo-SdFloat16 onto an existing file'
    ErrorId  = 'DestinationIsFile*'
    Category = 'InvalidArgument'
    Setup    = { param($ctx) Set-Content (Join-Path $ctx.Inputs taken) 'x' }
    Script   = { param($ctx) ConvertTo-SdFloat16 -Path $ctx.Model -Destination (Join-Path $ctx.Inputs taken) -ErrorAction Stop }
    Target   = { param($target, $ctx) "$target" -eq (Join-Path $ctx.Inputs taken) }
}

@{
    Name     = 'ConvertTo-SdFloat16 into a folder inside the source'
    ErrorId  = 'DestinationIsSource*'
    Category = 'InvalidArgument'
    Setup    = [scriptblock]::Create("param(`$ctx) $copyModel")
    Script   = { param($ctx) ConvertTo-SdFloat16 -Path (Join-Path $ctx.Inputs m) -Destination (Join-Path $ctx.Inputs m fp16) -ErrorAction Stop }
}

@{
    Name     = 'Save-SdImage -Path onto an existing directory says to use -Directory'
    ErrorId  = 'PathIsDirectory*'
    Category = 'InvalidArgument'
    Script   = { param($ctx)
        $image = Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Seed 1 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop
        try { $image | Save-SdImage -Path $ctx.Output -ErrorAction Stop }
        catch { if ($_.Exception.Message -notmatch '-Directory') { throw "the message does not name -Directory: $($_.Exception.Message)" }; throw } }
    Target   = { param($target, $ctx) "$target" -eq $ctx.Output }
}

@{
    Name     = 'Invoke-SdRenderJob with a .txt prompt list is "not a job file"'
    ErrorId  = 'UnsupportedJobFileType*'
    Category = 'InvalidArgument'
    Setup    = { param($ctx) Set-Content (Join-Path $ctx.Inputs prompts.txt) 'a cat' }
    Script   = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs prompts.txt) -ErrorAction Stop }
    Target   = { param($target, $ctx) "$target" -eq (Join-Path $ctx.Inputs prompts.txt) }
}

@{
    Name     = 'Invoke-SdRenderJob with a missing .txt file is still "not a job file", not "not found"'
    ErrorId  = 'UnsupportedJobFileType*'
    Category = 'InvalidArgument'
    Script   = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs nope.txt) -ErrorAction Stop }
}
