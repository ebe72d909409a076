BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Examples = Join-Path $PSScriptRoot '..' 'examples'
    $script:ModulePath = Get-SdTestModulePath
    Import-Module $script:ModulePath -Force
    $null = Get-SdFixturePath

    # Runs an example in a fresh pwsh against the fixture; returns the PNG files it wrote.
    function Invoke-SdExample([string] $Name, [string] $Arguments = '') {
        $out = Join-Path $TestDrive $Name
        $script = "Import-Module '$script:ModulePath'; & '$(Join-Path $script:Examples $Name)' -OutputDirectory '$out' $Arguments"
        $log = Invoke-SdFreshPwsh -NoProfile -NonInteractive -Command $script 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($log | Out-String)
        Get-ChildItem $out -Filter *.png
    }
}

Describe 'examples' {
    It 'seed-guide.ps1 walks the guide on the fixture' {
        $files = Invoke-SdExample 'seed-guide.ps1' '-Steps 3'
        $files.Name | Should -Contain '1-pndm50-0.png'
        $files.Name | Should -Contain '2-dpm3-0.png'
        $files.Name | Should -Contain '4-grid.png'
        $files.Name | Should -Contain '5-sliced-grid.png'
        $files.Name | Should -Contain '6-vae-0.png'
        $files.Name | Should -Contain '7-variants.png'
        ($files | Where-Object Name -Like '3-batch-*').Count | Should -Be 4
    }

    It 'prompts-from-file.ps1 renders each prompt of the file' {
        $files = Invoke-SdExample 'prompts-from-file.ps1' '-Steps 3'
        $files.Count | Should -Be 3
    }

    It 'csv-batch.ps1 renders each row with its own settings' {
        $files = Invoke-SdExample 'csv-batch.ps1'
        $files.Count | Should -Be 3
        $info = $files | Get-SdImageInfo | Sort-Object Seed
        $info.Seed | Should -Be @(204, 205, 206)
        $info.Steps | Should -Be @(20, 20, 25)
        $info[2].GuidanceScale | Should -Be 6
        $info[1].NegativePrompt | Should -Be 'low quality, jpeg artifacts'
    }
}
