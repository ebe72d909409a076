# Pipeline input bound by property name (Import-Csv rows, PSCustomObjects, hashtables): a cell that does not convert,
# a row without a Prompt, an empty Prompt cell are that row's error (naming the row, the column and the value, the row
# as target) and the other rows still render; an empty cell means "not given"; strings still bind by value.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Pipeline = New-SdPipeline -Path (Get-SdFixturePath) -ExecutionProvider Cpu

    # Output objects and error records of a command, whatever the caller's error preference.
    function Invoke-SdCollect([scriptblock] $Command) {
        $ErrorActionPreference = 'Continue'
        $errors = [System.Collections.Generic.List[object]]::new()
        $out = @(& $Command 2>&1 | ForEach-Object { if ($_ -is [System.Management.Automation.ErrorRecord]) { $errors.Add($_) } else { $_ } })
        [pscustomobject]@{ Errors = $errors; Output = $out }
    }

    # A fast row (64×64, 2 steps): every setting as text, as Import-Csv gives it; -Set replaces or adds cells.
    function New-SdRow([string] $Prompt, [hashtable] $Set = @{}) {
        $row = [ordered]@{ Prompt = $Prompt; Steps = '2'; Seed = '1'; Width = '64'; Height = '64' }
        foreach ($k in $Set.Keys) { $row[$k] = $Set[$k] }
        [pscustomobject]$row
    }
}

AfterAll {
    $script:Pipeline.Dispose()
}

Describe 'A cell that does not convert' {
    It "refuses <Column> = '<Value>' for that row only, naming the row, the column and the value" -ForEach @(
        @{ Column = 'Steps'; Value = 'abc' }
        @{ Column = 'Steps'; Value = '2.5' }
        @{ Column = 'Width'; Value = 'abc' }
        @{ Column = 'Height'; Value = '64px' }
        @{ Column = 'Seed'; Value = 'abc' }
        @{ Column = 'Seed'; Value = '1.5' }
        @{ Column = 'GuidanceScale'; Value = 'abc' }
        @{ Column = 'CfgScale'; Value = 'high' }
        @{ Column = 'Eta'; Value = 'zero' }
        @{ Column = 'ImagesPerPrompt'; Value = 'two' }
        @{ Column = 'OutputType'; Value = 'Latnt' }
        @{ Column = 'OriginalSize'; Value = '1024x768' }
    ) {
        $rows = (New-SdRow 'first'), (New-SdRow 'bad' @{ $Column = $Value }), (New-SdRow 'third')
        $r = Invoke-SdCollect { $rows | Invoke-SdGeneration -Pipeline $script:Pipeline }
        $r.Output.Prompt | Should -Be @('first', 'third')
        $r.Errors.Count | Should -Be 1
        $e = $r.Errors[0]
        $e.FullyQualifiedErrorId | Should -BeLike 'RowValueInvalid,*'
        $e.CategoryInfo.Category | Should -Be 'InvalidData'
        $e.Exception.Message | Should -BeLike "Input row 2, column '$Column': *'$Value'*"
        $e.TargetObject.Prompt | Should -Be 'bad'
    }

    It 'refuses a number that is not whole for a whole-number setting, instead of rounding it' {
        $row = [pscustomobject]@{ Prompt = 'rounded'; Steps = 2; Seed = 1.5; Width = 64; Height = 64 }
        $r = Invoke-SdCollect { $row | Invoke-SdGeneration -Pipeline $script:Pipeline }
        $r.Output | Should -BeNullOrEmpty
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'RowValueInvalid,*'
        $r.Errors[0].Exception.Message | Should -BeLike "*column 'Seed'*1.5*"
    }

    It 'reads rows of an Import-Csv file: the bad ones fail by row number, the others render in order' {
        $csv = Join-Path $TestDrive 'mix.csv'
        @(
            (New-SdRow 'one'), (New-SdRow 'two' @{ Steps = 'ten' }), (New-SdRow 'three'),
            (New-SdRow 'four' @{ Seed = '7.5' }), (New-SdRow 'five' @{ Seed = '' })
        ) | Export-Csv $csv
        $r = Invoke-SdCollect { Import-Csv $csv | Invoke-SdGeneration -Pipeline $script:Pipeline }
        $r.Output.Prompt | Should -Be @('one', 'three', 'five')
        $r.Errors.Exception.Message | Should -BeLike "Input row [24], column *"
        @($r.Errors.Exception.Message)[0] | Should -BeLike "Input row 2, column 'Steps': the text 'ten'*"
        @($r.Errors.Exception.Message)[1] | Should -BeLike "Input row 4, column 'Seed': the text '7.5'*"
    }
}

Describe 'A row without a usable Prompt' {
    It "refuses a misspelled Prompt column, naming the columns and suggesting 'Prompt'" {
        $rows = (New-SdRow 'good'), [pscustomobject]@{ Promt = 'a typo'; Steps = '2'; Width = '64'; Height = '64' }
        $r = Invoke-SdCollect { $rows | Invoke-SdGeneration -Pipeline $script:Pipeline }
        $r.Output.Prompt | Should -Be @('good') -Because 'the row is not rendered as its own text'
        $r.Errors.Count | Should -Be 1
        $e = $r.Errors[0]
        $e.FullyQualifiedErrorId | Should -BeLike 'RowPromptMissing,*'
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $e.Exception.Message | Should -BeLike "Input row 2 has no Prompt column (its columns: 'Promt', 'Steps', 'Width', 'Height'). Did you mean 'Prompt' for 'Promt'?*"
        $e.TargetObject.Promt | Should -Be 'a typo'
    }

    It 'refuses a row without any Prompt-like column, saying how to give one' {
        $r = Invoke-SdCollect { [pscustomobject]@{ Subject = 'x' } | Invoke-SdGeneration -Pipeline $script:Pipeline }
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'RowPromptMissing,*'
        $r.Errors[0].Exception.Message | Should -BeLike "*Add a Prompt column, or give -Prompt on the command line."
    }

    It 'refuses an empty Prompt cell' {
        $r = Invoke-SdCollect { (New-SdRow ''), (New-SdRow 'kept') | Invoke-SdGeneration -Pipeline $script:Pipeline }
        $r.Output.Prompt | Should -Be @('kept')
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'RowPromptEmpty,*'
    }

    It 'uses -Prompt from the command line for rows without a Prompt column' {
        $r = Invoke-SdCollect { [pscustomobject]@{ Seed = '5'; Steps = '2'; Width = '64'; Height = '64' } | Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'given' }
        $r.Errors | Should -BeNullOrEmpty
        $r.Output.Prompt | Should -Be 'given'
        $r.Output.Seed | Should -Be 5
    }
}

Describe 'Empty cells and other inputs' {
    It 'takes an empty cell as not given: the default, not 0' {
        $row = New-SdRow 'defaults' @{ Steps = ''; GuidanceScale = ''; Eta = ''; NegativePrompt = ''; Seed = '' }
        $r = Invoke-SdCollect { $row | Invoke-SdGeneration -Pipeline $script:Pipeline }
        $r.Errors | Should -BeNullOrEmpty
        $r.Output.Steps | Should -Be 50
        $r.Output.GuidanceScale | Should -Be 7.5
        $r.Output.Eta | Should -Be 0
    }

    It "does not keep a row's value for the next row's empty cell" {
        $r = Invoke-SdCollect { (New-SdRow 'cell' @{ Eta = '0.5' }), (New-SdRow 'empty' @{ Eta = '' }) | Invoke-SdGeneration -Pipeline $script:Pipeline -GuidanceScale 3 }
        $r.Errors | Should -BeNullOrEmpty
        $r.Output.Eta | Should -Be @(0.5, 0)
        $r.Output.GuidanceScale | Should -Be @(3, 3)
    }

    It 'binds a hashtable row by its keys' {
        $r = Invoke-SdCollect { @{ Prompt = 'from a table'; Steps = 2; Seed = 3; Width = 64; Height = 64 } | Invoke-SdGeneration -Pipeline $script:Pipeline }
        $r.Errors | Should -BeNullOrEmpty
        $r.Output.Prompt | Should -Be 'from a table'
        $r.Output.Seed | Should -Be 3
        $r.Output.Steps | Should -Be 2
    }

    It 'does not let a hashtable row leave its values to the next row' {
        $rows = @{ Prompt = 'first'; Steps = 2; Seed = 3; Width = 64; Height = 64 }, @{ Prompt = 'second'; Width = 64; Height = 64 }
        $r = Invoke-SdCollect { $rows | Invoke-SdGeneration -Pipeline $script:Pipeline -Seed 4 }
        $r.Output.Steps | Should -Be @(2, 50)
    }

    It 'still binds strings by value' {
        $r = Invoke-SdCollect { 'a fox', 'a cat' | Invoke-SdGeneration -Pipeline $script:Pipeline -Steps 2 -Seed 1 -Width 64 -Height 64 }
        $r.Errors | Should -BeNullOrEmpty
        $r.Output.Prompt | Should -Be @('a fox', 'a cat')
    }

    It 'lets a parameter given on the command line win over the column, as PowerShell does' {
        $r = Invoke-SdCollect { New-SdRow 'cmdline' @{ Steps = 'abc' } | Invoke-SdGeneration -Pipeline $script:Pipeline -Steps 2 }
        $r.Errors | Should -BeNullOrEmpty
        $r.Output.Steps | Should -Be 2
    }

    It 'keeps the command-line messages of a value that does not convert' {
        { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'x' -GuidanceScale 'abc' } |
            Should -Throw -ErrorId 'ParameterArgumentTransformationError*' -ExpectedMessage "*'abc' is not a number*"
    }
}
