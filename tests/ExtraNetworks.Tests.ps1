# A1111 extra-network tags through Invoke-SdGeneration (issue 14); bad tags are in tests/Hostile/ExtraNetworks.Cases.ps1.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Model = Get-SdFixturePath
    $script:Loras = [System.IO.Path]::GetFullPath((Join-Path $script:Model '..' 'tiny-sd-lora'))
    if (-not (Test-Path (Join-Path $script:Loras 'tiny_lora_a.kohya.fp32.safetensors'))) { throw "The LoRA fixtures are missing: $script:Loras" }
    $script:Pipeline = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu -LoraPath $script:Loras
    $script:Common = @{ Seed = 3; Steps = 2; Width = 64; Height = 64; PromptSyntax = 'A1111'; Emphasis = 'NoNorm' }
}
AfterAll { if ($script:Pipeline) { $script:Pipeline.Dispose() } }

Describe '<lora:name:weight> tags in A1111 prompts' {
    It 'gives the image of the same LoRA added with Add-SdLora, and leaves the set as it was' {
        $tagged = Invoke-SdGeneration -Pipeline $script:Pipeline @script:Common -Prompt 'a fox <lora:tiny_lora_a.kohya.fp32:0.7>'
        @(Get-SdLora -Pipeline $script:Pipeline).Count | Should -Be 0
        $plain = Invoke-SdGeneration -Pipeline $script:Pipeline @script:Common -Prompt 'a fox '
        $script:Pipeline | Add-SdLora 'tiny_lora_a.kohya.fp32' -Weight 0.7 | Out-Null
        try { $explicit = Invoke-SdGeneration -Pipeline $script:Pipeline @script:Common -Prompt 'a fox ' }
        finally { Clear-SdLora -Pipeline $script:Pipeline }
        ($tagged.Result.Pixels -join ',') | Should -Be ($explicit.Result.Pixels -join ',')
        ($tagged.Result.Pixels -join ',') | Should -Not -Be ($plain.Result.Pixels -join ',')
    }

    It 'is plain text under -PromptSyntax Plain (no error, no LoRA)' {
        $image = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a fox <lora:no_such_lora:abc>' -PromptSyntax Plain -Seed 1 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop
        $image | Should -Not -BeNullOrEmpty
        @(Get-SdLora -Pipeline $script:Pipeline).Count | Should -Be 0
    }
}
