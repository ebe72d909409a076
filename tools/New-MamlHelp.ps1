<#
.SYNOPSIS
    Builds the module's MAML help (en-US/<assembly>-Help.xml) from markdown, one file per cmdlet.
.DESCRIPTION
    Each docs/help/<Verb-Noun>.md has the sections '## SYNOPSIS', '## DESCRIPTION', '## EXAMPLES' (each '### title',
    a fenced code block, then remarks), '## PARAMETERS' ('### -Name' then text), optional '## INPUTS', '## OUTPUTS',
    '## NOTES', '## RELATED LINKS'. Syntax, types, positions, defaults and pipeline input come from the cmdlet itself,
    so the help cannot drift from the code; a parameter without text, or text for a parameter that does not exist, fails.
    Run it in a pwsh that has not loaded the module yet (the build starts a fresh one).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $SourceDirectory,
    [Parameter(Mandatory)] [string] $OutputFile
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$module = Import-Module $ModulePath -PassThru -Force
$common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters

function Split-Sections([string] $text, [string] $level) {
    $sections = [ordered]@{}
    $name = $null
    $buffer = [System.Text.StringBuilder]::new()
    $inFence = $false
    foreach ($line in $text -split "`r?`n") {
        if ($line -match '^```') { $inFence = -not $inFence }
        if (-not $inFence -and $line -match "^$level (.+?)\s*$") {
            if ($null -ne $name) { $sections[$name] = $buffer.ToString().Trim() }
            $name = $Matches[1]
            $buffer.Clear() | Out-Null
            continue
        }
        if ($null -ne $name) { $buffer.AppendLine($line) | Out-Null }
    }
    if ($null -ne $name) { $sections[$name] = $buffer.ToString().Trim() }
    $sections
}

function Add-Paragraphs([System.Xml.XmlWriter] $w, [string] $text) {
    $paragraphs = @($text -split "(`r?`n){2,}" | Where-Object { $_.Trim() })
    if ($paragraphs.Count -eq 0) { $paragraphs = @('') }
    foreach ($p in $paragraphs) {
        $w.WriteElementString('maml', 'para', $ns.maml, (($p -split "`r?`n") -join ' ').Trim())
    }
}

function Write-Description([System.Xml.XmlWriter] $w, [string] $text) {
    $w.WriteStartElement('maml', 'description', $ns.maml)
    Add-Paragraphs $w $text
    $w.WriteEndElement()
}

function Get-PipelineInput($attributes) {
    $kinds = @()
    if ($attributes | Where-Object ValueFromPipelineByPropertyName) { $kinds += 'ByPropertyName' }
    if ($attributes | Where-Object ValueFromPipeline) { $kinds += 'ByValue' }
    if ($kinds) { "True ($($kinds -join ', '))" } else { 'False' }
}

function Write-Parameter([System.Xml.XmlWriter] $w, $parameter, $setAttribute, [string] $description, $default) {
    $attributes = @($parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] })
    $attr = if ($setAttribute) { $setAttribute } else { $attributes[0] }
    $w.WriteStartElement('command', 'parameter', $ns.command)
    $w.WriteAttributeString('required', ([string][bool]$attr.Mandatory).ToLowerInvariant())
    $w.WriteAttributeString('variableLength', ([string]$parameter.ParameterType.IsArray).ToLowerInvariant())
    $w.WriteAttributeString('globbing', 'false')
    $w.WriteAttributeString('pipelineInput', (Get-PipelineInput $attributes))
    $w.WriteAttributeString('position', $(if ($attr.Position -ge 0) { [string]$attr.Position } else { 'named' }))
    $w.WriteAttributeString('aliases', $(if ($parameter.Aliases.Count) { $parameter.Aliases -join ', ' } else { 'none' }))
    $w.WriteElementString('maml', 'name', $ns.maml, $parameter.Name)
    Write-Description $w $description
    $typeName = $parameter.ParameterType
    if ([Nullable]::GetUnderlyingType($typeName)) { $typeName = [Nullable]::GetUnderlyingType($typeName) }
    if ($typeName -ne [System.Management.Automation.SwitchParameter]) {
        $w.WriteStartElement('command', 'parameterValue', $ns.command)
        $w.WriteAttributeString('required', 'true')
        $w.WriteAttributeString('variableLength', 'false')
        $w.WriteString(($typeName.Name))
        $w.WriteEndElement()
    }
    $w.WriteStartElement('dev', 'type', $ns.dev)
    $w.WriteElementString('maml', 'name', $ns.maml, $typeName.FullName)
    $w.WriteEndElement()
    $w.WriteElementString('dev', 'defaultValue', $ns.dev, $(if ($null -ne $default -and "$default" -ne '') { "$default" } else { 'None' }))
    $w.WriteEndElement()
}

$ns = @{
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
}
$problems = [System.Collections.Generic.List[string]]::new()
$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
New-Item -ItemType Directory -Force (Split-Path $OutputFile) | Out-Null
$w = [System.Xml.XmlWriter]::Create($OutputFile, $settings)
$w.WriteStartDocument()
$w.WriteStartElement('helpItems', 'http://msh')
$w.WriteAttributeString('schema', 'maml')

foreach ($cmd in Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name) {
    $file = Join-Path $SourceDirectory "$($cmd.Name).md"
    if (-not (Test-Path $file)) { $problems.Add("$($cmd.Name): no help file $file"); continue }
    $doc = Split-Sections (Get-Content $file -Raw) '##'
    foreach ($required in 'SYNOPSIS', 'DESCRIPTION', 'EXAMPLES', 'PARAMETERS') {
        if (-not $doc.Contains($required) -or -not $doc[$required]) { $problems.Add("$($cmd.Name): section '## $required' is missing or empty") }
    }
    if ($problems.Count) { continue }
    $examples = Split-Sections $doc['EXAMPLES'] '###'
    if ($examples.Count -lt 2) { $problems.Add("$($cmd.Name): $($examples.Count) example(s); at least 2 are required") }
    $paramDocs = @{}
    foreach ($entry in (Split-Sections $doc['PARAMETERS'] '###').GetEnumerator()) { $paramDocs[$entry.Key.TrimStart('-')] = $entry.Value }
    $parameters = @($cmd.Parameters.Values | Where-Object { $_.Name -notin $common })
    foreach ($p in $parameters) {
        if (-not $paramDocs.ContainsKey($p.Name) -or -not $paramDocs[$p.Name]) { $problems.Add("$($cmd.Name): parameter -$($p.Name) is not described") }
    }
    foreach ($documented in $paramDocs.Keys) {
        if ($documented -notin $parameters.Name) { $problems.Add("$($cmd.Name): help describes -$documented, which the cmdlet does not have") }
    }
    # Defaults: read from a fresh instance of the cmdlet class.
    $instance = [Activator]::CreateInstance($cmd.ImplementingType)
    $defaults = @{}
    foreach ($p in $parameters) {
        try { $v = $cmd.ImplementingType.GetProperty($p.Name).GetValue($instance); if ($v -is [System.Management.Automation.SwitchParameter]) { $v = 'False' }; $defaults[$p.Name] = $v } catch { }
    }

    $w.WriteStartElement('command', 'command', $ns.command)
    $w.WriteAttributeString('xmlns', 'maml', $null, $ns.maml)
    $w.WriteAttributeString('xmlns', 'dev', $null, $ns.dev)
    $w.WriteStartElement('command', 'details', $ns.command)
    $w.WriteElementString('command', 'name', $ns.command, $cmd.Name)
    $w.WriteElementString('command', 'verb', $ns.command, $cmd.Verb)
    $w.WriteElementString('command', 'noun', $ns.command, $cmd.Noun)
    Write-Description $w $doc['SYNOPSIS']
    $w.WriteEndElement()
    Write-Description $w $doc['DESCRIPTION']

    $w.WriteStartElement('command', 'syntax', $ns.command)
    foreach ($set in $cmd.ParameterSets) {
        $w.WriteStartElement('command', 'syntaxItem', $ns.command)
        $w.WriteElementString('maml', 'name', $ns.maml, $cmd.Name)
        foreach ($sp in $set.Parameters | Where-Object { $_.Name -notin $common } | Sort-Object { if ($_.Position -ge 0) { $_.Position } else { 1000 } }) {
            $full = $cmd.Parameters[$sp.Name]
            $setAttr = $full.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and ($_.ParameterSetName -eq $set.Name -or $_.ParameterSetName -eq '__AllParameterSets') } | Select-Object -First 1
            Write-Parameter $w $full $setAttr $paramDocs[$sp.Name] $defaults[$sp.Name]
        }
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'parameters', $ns.command)
    foreach ($p in $parameters | Sort-Object Name) { Write-Parameter $w $p $null $paramDocs[$p.Name] $defaults[$p.Name] }
    $w.WriteEndElement()

    foreach ($kind in @(@{ Section = 'INPUTS'; Outer = 'inputTypes'; Inner = 'inputType' }, @{ Section = 'OUTPUTS'; Outer = 'returnValues'; Inner = 'returnValue' })) {
        if (-not $doc.Contains($kind.Section)) { continue }
        $w.WriteStartElement('command', $kind.Outer, $ns.command)
        foreach ($entry in (Split-Sections $doc[$kind.Section] '###').GetEnumerator()) {
            $w.WriteStartElement('command', $kind.Inner, $ns.command)
            $w.WriteStartElement('dev', 'type', $ns.dev)
            $w.WriteElementString('maml', 'name', $ns.maml, $entry.Key)
            $w.WriteEndElement()
            Write-Description $w $entry.Value
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
    }
    if ($doc.Contains('NOTES') -and $doc['NOTES']) {
        $w.WriteStartElement('maml', 'alertSet', $ns.maml)
        $w.WriteStartElement('maml', 'alert', $ns.maml)
        Add-Paragraphs $w $doc['NOTES']
        $w.WriteEndElement()
        $w.WriteEndElement()
    }

    $w.WriteStartElement('command', 'examples', $ns.command)
    $i = 0
    foreach ($example in $examples.GetEnumerator()) {
        $i++
        if ($example.Value -notmatch '(?s)```(?:powershell)?\s*\r?\n(.*?)\r?\n```(.*)$') { $problems.Add("$($cmd.Name): example '$($example.Key)' has no code block"); continue }
        $code = $Matches[1]; $remarks = $Matches[2].Trim()
        $w.WriteStartElement('command', 'example', $ns.command)
        $w.WriteElementString('maml', 'title', $ns.maml, "--------- $($example.Key) ---------")
        $w.WriteElementString('dev', 'code', $ns.dev, $code)
        $w.WriteStartElement('dev', 'remarks', $ns.dev)
        Add-Paragraphs $w $remarks
        $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'relatedLinks', $ns.command)
    if ($doc.Contains('RELATED LINKS')) {
        foreach ($link in ($doc['RELATED LINKS'] -split "`r?`n" | Where-Object { $_.Trim() })) {
            $w.WriteStartElement('maml', 'navigationLink', $ns.maml)
            $w.WriteElementString('maml', 'linkText', $ns.maml, ($link -replace '^[-*]\s*', '' -replace '\[([^\]]+)\]\(.*\)', '$1').Trim())
            $w.WriteElementString('maml', 'uri', $ns.maml, '')
            $w.WriteEndElement()
        }
    }
    $w.WriteEndElement()
    $w.WriteEndElement()
}
$w.WriteEndElement()
$w.WriteEndDocument()
$w.Close()

if ($problems.Count) {
    Remove-Item $OutputFile -ErrorAction Ignore
    throw "Help is incomplete:`n  " + ($problems -join "`n  ")
}
Write-Host "Help written to $OutputFile"
