# Files, IO and model configs (issue 13): atomic float16 folders, leftover cleanup, size rule from the graph, config checks.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Model = Get-SdFixturePath
    $script:Pipeline = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu

    # A real copy of tiny-sd (not links: the tests corrupt its files).
    function Copy-SdTinyModel([string] $Destination) {
        New-Item -ItemType Directory $Destination | Out-Null
        Get-ChildItem $script:Model -Exclude expected, README.md | Copy-Item -Destination $Destination -Recurse
        $Destination
    }
}

AfterAll {
    if ($script:Pipeline) { $script:Pipeline.Dispose() }
}

Describe 'Image sizes follow the model''s real step' {
    It 'refuses 72 on the fixture (one UNet downsampler: 16-pixel steps) before any work, naming the rule and the nearest sizes' {
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a' -Seed 1 -Steps 2 -Width 72 -Height 64 }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'InvalidGenerationArgument*'
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $r.Error.Exception.Message | Should -Match 'Width must be a multiple of 16'
        $r.Error.Exception.Message | Should -Match 'Try 64 or 80'
        $r.Error.Exception.Message | Should -Not -Match 're-export|re-download'
        $r.Output | Should -BeNullOrEmpty
    }

    It 'generates at 80x48, which are multiples of 16 but not of 64' {
        $image = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a' -Seed 1 -Steps 2 -Width 80 -Height 48
        $image.Image.Width | Should -Be 80
        $image.Image.Height | Should -Be 48
    }

    It 'states the rule in the help of -Width and -Height' {
        foreach ($name in 'Width', 'Height') {
            $help = (Get-Help Invoke-SdGeneration -Parameter $name).Description.Text -join ' '
            $help | Should -Match 'downsampling'
            $help | Should -Match '64 for SD 1.x/2.x'
        }
    }
}

Describe 'Model configs are checked on load' {
    It 'refuses a VAE scaling_factor of 0, naming the file, the key and the accepted range' {
        $m = Copy-SdTinyModel (Join-Path $TestDrive 'zero')
        $file = Join-Path $m 'vae_decoder' 'config.json'
        Set-Content $file '{ "scaling_factor": 0 }'
        $r = Get-SdError { New-SdPipeline -Path $m -ExecutionProvider Cpu }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'ModelInvalidFile*'
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidData'
        $r.Error.TargetObject | Should -Be $file
        $r.Error.Exception.Message | Should -BeLike "*'$file': `"scaling_factor`" is 0; it must be a finite number from 0.000001 to 100*"
        $r.Output | Should -BeNullOrEmpty
    }

    It 'names the scheduler config file when its class is unknown' {
        $m = Copy-SdTinyModel (Join-Path $TestDrive 'sched')
        $file = Join-Path $m 'scheduler' 'scheduler_config.json'
        (Get-Content -Raw $file) -replace 'PNDMScheduler', 'FancyNewScheduler' | Set-Content $file
        $r = Get-SdError { New-SdPipeline -Path $m -ExecutionProvider Cpu }
        $r.Error.TargetObject | Should -Be $file
        $r.Error.Exception.Message | Should -Match ([regex]::Escape($file))
        $r.Error.Exception.Message | Should -Match 'FancyNewScheduler.*EulerDiscreteScheduler'
    }

    It 'warns when model_index.json names classes it does not run, and loads all the same' {
        $m = Copy-SdTinyModel (Join-Path $TestDrive 'index')
        $index = Join-Path $m 'model_index.json'
        $json = Get-Content -Raw $index | ConvertFrom-Json -AsHashtable
        $json['_class_name'] = 'StableDiffusion3Pipeline'
        $json['controlnet'] = @('diffusers', 'ControlNetModel')
        $json | ConvertTo-Json | Set-Content $index
        $p = New-SdPipeline -Path $m -ExecutionProvider Cpu -WarningVariable w -WarningAction SilentlyContinue
        try {
            $p | Should -Not -BeNullOrEmpty
            $w.Count | Should -Be 2
            ($w -join "`n") | Should -Match "pipeline class 'StableDiffusion3Pipeline'"
            ($w -join "`n") | Should -Match "component 'controlnet' \(ControlNetModel\)"
        }
        finally { if ($p) { $p.Dispose() } }
    }

    It 'loads the fixture without such warnings' {
        $p = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu -WarningVariable w -WarningAction SilentlyContinue
        try { $w | Should -BeNullOrEmpty } finally { $p.Dispose() }
    }

    It 'calls a symbolic link loop a loop, not a file' {
        $a = Join-Path $TestDrive 'loop-a'; $b = Join-Path $TestDrive 'loop-b'
        New-Item -ItemType SymbolicLink -Path $a -Target $b | Out-Null
        New-Item -ItemType SymbolicLink -Path $b -Target $a | Out-Null
        $r = Get-SdError { New-SdPipeline -Path $a -ExecutionProvider Cpu }
        $r.Error.Exception.Message | Should -Match 'symbolic link that loops'
        $r.Error.Exception.Message | Should -Not -Match 'is a file'
    }
}

Describe 'ConvertTo-SdFloat16 builds the folder atomically' {
    It 'leaves no destination and no hidden folder when the source is corrupt, and names the corrupt file' {
        $m = Copy-SdTinyModel (Join-Path $TestDrive 'corrupt')
        $unet = Join-Path $m 'unet' 'model.onnx'
        [IO.File]::WriteAllBytes($unet, [byte[]](10, 255, 255, 255, 127, 1))
        $parent = New-Item -ItemType Directory (Join-Path $TestDrive 'corrupt-out')
        $r = Get-SdError { ConvertTo-SdFloat16 -Path $m -Destination (Join-Path $parent 'fp16') }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'CorruptSourceModel*'
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidData'
        $r.Error.TargetObject | Should -Be $unet
        $r.Error.Exception.Message | Should -Match 'not a valid ONNX model'
        @(Get-ChildItem -Force $parent) | Should -BeNullOrEmpty
    }

    It 'replaces a folder with -Force only once the new model is complete, leaving nothing hidden beside it' {
        $parent = New-Item -ItemType Directory (Join-Path $TestDrive 'force-out')
        $dest = New-Item -ItemType Directory (Join-Path $parent 'fp16')
        Set-Content (Join-Path $dest 'old.txt') 'x'
        (ConvertTo-SdFloat16 -Path $script:Model -Destination $dest.FullName -Force).FullName | Should -Be $dest.FullName
        Test-Path (Join-Path $dest 'old.txt') | Should -BeFalse
        Test-Path (Join-Path $dest 'unet' 'model.onnx') | Should -BeTrue
        (Get-ChildItem -Force $parent).Name | Should -Be 'fp16'
    }

    It 'says DestinationExists only for a folder that held files before' {
        $dest = New-Item -ItemType Directory (Join-Path $TestDrive 'taken')
        Set-Content (Join-Path $dest 'mine.txt') 'x'
        $r = Get-SdError { ConvertTo-SdFloat16 -Path $script:Model -Destination $dest.FullName }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'DestinationExists*'
        (Get-ChildItem -Force $dest).Name | Should -Be 'mine.txt'
    }
}

Describe 'Save-SdImage and temporary files' {
    BeforeAll {
        $script:Image = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a' -Seed 1 -Steps 2 -Width 64 -Height 64
    }

    It 'removes an old leftover of a killed write on the next save to that folder, and nothing else' {
        $dir = New-Item -ItemType Directory (Join-Path $TestDrive 'leftovers')
        $old = Join-Path $dir ".a.png.$([guid]::NewGuid().ToString('N')).tmp"
        $fresh = Join-Path $dir ".b.png.$([guid]::NewGuid().ToString('N')).tmp"
        $foreign = Join-Path $dir '.notes.tmp'
        foreach ($f in $old, $fresh, $foreign) { Set-Content $f 'partial' }
        (Get-Item $old -Force).LastWriteTimeUtc = [datetime]::UtcNow.AddHours(-1)
        (Get-Item $foreign -Force).LastWriteTimeUtc = [datetime]::UtcNow.AddHours(-1)
        $script:Image | Save-SdImage -Directory $dir.FullName | Out-Null
        Test-Path $old | Should -BeFalse
        Test-Path $fresh | Should -BeTrue -Because 'a concurrent writer may still be writing it'
        Test-Path $foreign | Should -BeTrue -Because 'only our own naming is cleaned'
    }

    It 'says a -Path that is a folder is a folder, and to use -Directory' {
        $dir = New-Item -ItemType Directory (Join-Path $TestDrive 'a-folder.png')
        $r = Get-SdError { $script:Image | Save-SdImage -Path $dir.FullName -Force }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'PathIsDirectory*'
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $r.Error.TargetObject | Should -Be $dir.FullName
        $r.Error.Exception.Message | Should -Match 'is a folder, not a file'
        $r.Error.Exception.Message | Should -Match '-Directory'
        @(Get-ChildItem -Force $dir) | Should -BeNullOrEmpty
    }
}

Describe 'Invoke-SdRenderJob job file kinds' {
    It 'says a .txt file is not a job file and which kinds are' {
        $txt = Join-Path $TestDrive 'prompts.txt'
        Set-Content $txt 'a cat'
        $r = Get-SdError { Invoke-SdRenderJob -Path $txt }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'UnsupportedJobFileType*'
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $r.Error.Exception.Message | Should -Match 'is not a job file: a render job is a \.psd1 or a \.json file'
        $r.Error.Exception.Message | Should -Not -Match 'does not exist'
    }
}
