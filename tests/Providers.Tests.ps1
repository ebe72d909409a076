BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Model = Get-SdFixturePath
    $script:Fp16Io = Get-SdFixturePath 'tiny-sd-fp16io'
    $script:HasGpu = [bool](Get-Command nvidia-smi -ErrorAction Ignore)
}

Describe 'New-SdPipeline -Precision' {
    It 'refuses Float16 of a float32 export and suggests ConvertTo-SdFloat16' {
        $r = Get-SdError { New-SdPipeline -Path $script:Model -ExecutionProvider Cpu -Precision Float16 }
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $r.Error.FullyQualifiedErrorId | Should -Match 'PrecisionMismatch'
        $r.Error.Exception.Message | Should -Match 'ConvertTo-SdFloat16'
        $r.Output | Should -BeNullOrEmpty
    }

    It 'refuses Float32 of a float16 export' {
        $r = Get-SdError { New-SdPipeline -Path $script:Fp16Io -ExecutionProvider Cpu -Precision Float32 }
        $r.Error.FullyQualifiedErrorId | Should -Match 'PrecisionMismatch'
        $r.Error.Exception.Message | Should -Match 'float16 export'
    }

    It 'loads a float16 export asked for as Float16' {
        $p = New-SdPipeline -Path $script:Fp16Io -ExecutionProvider Cpu -Precision Float16
        try { $p.Precision | Should -Be 'float16' } finally { $p.Dispose() }
    }
}

Describe 'New-SdPipeline UNet execution' {
    It 'runs the dynamic-shape session by default on the CPU; fixed shapes with and without IOBinding give the same image' {
        $default = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu
        $fixed = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu -FixedShapes
        $plain = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu -FixedShapes -NoIOBinding
        $dynamic = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu -DynamicShapes
        try {
            $default.FixedShapes | Should -BeFalse -Because 'the CPU default is the dynamic session (bench/results/full-size-cpu.md)'
            $default.IOBinding | Should -BeTrue -Because 'its buffers are bound once per generation'
            $default.CudaGraph | Should -BeFalse
            $fixed.FixedShapes | Should -BeTrue
            $fixed.IOBinding | Should -BeTrue
            $plain.FixedShapes | Should -BeTrue
            $plain.IOBinding | Should -BeFalse
            $dynamic.FixedShapes | Should -BeFalse
            $dynamic.IOBinding | Should -BeTrue
            $default.ProviderOptions.Count | Should -Be 0 -Because 'the CPU provider takes no provider options'
            $args = @{ Prompt = 'a photo of a cat'; Seed = 0; Steps = 20; Width = 64; Height = 64 }
            $a = $default | Invoke-SdGeneration @args
            $b = $fixed | Invoke-SdGeneration @args
            $c = $plain | Invoke-SdGeneration @args
            $d = $dynamic | Invoke-SdGeneration @args
            Get-SdPixelDifference $a.Image $d.Image | Should -Be 0
            Get-SdPixelDifference $b.Image $c.Image | Should -Be 0
            Get-SdPixelDifference $a.Image $b.Image | Should -BeLessOrEqual 1
            foreach ($image in $a, $b) {
                Get-SdPixelDifference (Get-SdExpectedPath 'pipeline-diffusers-0.35', 'pndm20_default', 'image_0.png') $image.Image | Should -BeLessOrEqual 1
            }
            $a.Elapsed | Should -BeGreaterThan ([TimeSpan]::Zero)
            $a.StepsPerSecond | Should -BeGreaterThan 0
        }
        finally { $default.Dispose(); $fixed.Dispose(); $plain.Dispose(); $dynamic.Dispose() }
    }

    It 'refuses -DynamicShapes with -FixedShapes' {
        $r = Get-SdError { New-SdPipeline -Path $script:Model -ExecutionProvider Cpu -DynamicShapes -FixedShapes }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'ConflictingShapeOptions*'
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'refuses -CudaGraph off the CUDA provider' {
        $r = Get-SdError { New-SdPipeline -Path $script:Model -ExecutionProvider Cpu -CudaGraph }
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $r.Error.Exception.Message | Should -Match 'CUDA graphs need'
    }

    It 'validates the GPU options' {
        { New-SdPipeline -Path $script:Model -MemoryLimit 0 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        { New-SdPipeline -Path $script:Model -ConvAlgoSearch Fastest -ErrorAction Stop } | Should -Throw -ErrorId 'CannotConvertArgument*'
    }
}

Describe 'New-SdPipeline GPU providers without a GPU' -Tag 'NoGpu' {
    It 'names the missing TensorRT or CUDA library' {
        if ($script:HasGpu) { Set-ItResult -Inconclusive -Because 'a GPU is present'; return }
        $r = Get-SdError { New-SdPipeline -Path $script:Model -ExecutionProvider TensorRT }
        $r.Error.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        $r.Error.Exception.Message | Should -Match 'TensorRT 10'
        $r.Error.Exception.Message | Should -Match 'lib\w+\.so(\.\d+)*'
    }

    It 'reports CUDA options with the same clear error as plain CUDA' {
        if ($script:HasGpu) { Set-ItResult -Inconclusive -Because 'a GPU is present'; return }
        $r = Get-SdError { New-SdPipeline -Path $script:Model -ExecutionProvider Cuda -ConvAlgoSearch Heuristic -PreferNhwc -MemoryLimit 4GB -CudaGraph }
        $r.Error.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        $r.Error.Exception.Message | Should -Match 'CUDA 13 and cuDNN 9'
    }
}
