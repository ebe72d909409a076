BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-SdTestModulePath
    Import-Module $script:ModulePath -Force
}

Describe 'The StableDiffusion module' {
    It 'imports in a fresh pwsh and exports exactly the cmdlets of its manifest' {
        $script = "Import-Module '$script:ModulePath'; (Get-Command -Module StableDiffusion).Name -join ','"
        $names = Invoke-SdFreshPwsh -NoProfile -NonInteractive -Command $script
        $LASTEXITCODE | Should -Be 0
        $manifest = Import-PowerShellDataFile $script:ModulePath
        ($names -split ',' | Sort-Object) | Should -Be ($manifest.CmdletsToExport | Sort-Object)
    }

    It 'has an explicit manifest for PowerShell 7.4 Core' {
        $manifest = Import-PowerShellDataFile $script:ModulePath
        $manifest.PowerShellVersion | Should -Be '7.4'
        $manifest.CompatiblePSEditions | Should -Be @('Core')
        $manifest.CmdletsToExport | Should -Not -Contain '*'
        $manifest.FunctionsToExport.Count | Should -Be 0
        $manifest.FormatsToProcess | Should -Contain 'StableDiffusion.Format.ps1xml'
    }

    It 'uses approved verbs only' {
        $approved = (Get-Verb).Verb
        foreach ($command in Get-Command -Module StableDiffusion) {
            $approved | Should -Contain $command.Verb
        }
    }
}
