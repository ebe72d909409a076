#requires -Version 7.4
<#
.SYNOPSIS
    Regenerates src/StableDiffusion/Graph/Onnx/Onnx.cs (the ONNX protobuf classes) from onnx.proto with protoc.
.DESCRIPTION
    onnx.proto beside the output is the official schema from onnx/onnx (onnx/onnx.proto, IR version 10), kept
    byte-for-byte. The script copies it to a temporary folder, adds only `option csharp_namespace` (protoc's C#
    generator has no command-line switch for the namespace, and the schema's package 'onnx' would give 'Onnx'),
    and runs protoc's C# generator. protoc comes from the NuGet package Google.Protobuf.Tools: when the package is
    not in the NuGet cache yet, a throwaway project with a PackageDownload restores it.
    The runtime library is Google.Protobuf (see StableDiffusion.csproj); the generated code only uses APIs that the
    referenced runtime version has, so the tools version may be newer than the runtime.
.EXAMPLE
    dotnet pwsh ./tools/Generate-OnnxProto.ps1
.EXAMPLE
    dotnet pwsh ./tools/Generate-OnnxProto.ps1 -ToolsVersion 3.36.1
#>
[CmdletBinding()]
param(
    # Version of the Google.Protobuf.Tools package that provides protoc.
    [string] $ToolsVersion = '3.36.1'
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = Split-Path $PSScriptRoot -Parent
$outputDir = Join-Path $root 'src' 'StableDiffusion' 'Graph' 'Onnx'
$schema = Join-Path $outputDir 'onnx.proto'
$namespace = 'StableDiffusion.Graph.Onnx'

$packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget' 'packages' }
$toolsDir = Join-Path $packages 'google.protobuf.tools' $ToolsVersion 'tools'

if (-not (Test-Path $toolsDir)) {
    $restoreDir = Join-Path ([System.IO.Path]::GetTempPath()) "protoc-restore-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory $restoreDir | Out-Null
    try {
        @"
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net8.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Google.Protobuf.Tools" Version="[$ToolsVersion]" /></ItemGroup>
</Project>
"@ | Set-Content (Join-Path $restoreDir 'restore.csproj')
        dotnet restore (Join-Path $restoreDir 'restore.csproj') --nologo -v quiet
        if ($LASTEXITCODE -ne 0) { throw "dotnet restore of Google.Protobuf.Tools $ToolsVersion failed (exit code $LASTEXITCODE)." }
    }
    finally { Remove-Item $restoreDir -Recurse -Force }
}

$platform = if ($IsWindows) { 'windows' } elseif ($IsMacOS) { 'macosx' } else { 'linux' }
$arch = switch ([System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture) {
    'X64' { 'x64' } 'Arm64' { if ($IsMacOS) { 'x64' } else { 'aarch64' } } 'X86' { 'x86' } default { throw "No protoc for architecture $_." }
}
$protoc = Join-Path $toolsDir "${platform}_$arch" ($IsWindows ? 'protoc.exe' : 'protoc')
if (-not (Test-Path $protoc)) { throw "protoc not found at $protoc." }
if (-not $IsWindows) { chmod +x $protoc }

$work = Join-Path ([System.IO.Path]::GetTempPath()) "onnx-proto-$([guid]::NewGuid().ToString('N'))"
New-Item -ItemType Directory $work | Out-Null
try {
    $text = Get-Content $schema -Raw
    if ($text -notmatch '(?m)^package onnx;\r?$') { throw "$schema has no 'package onnx;' line; is it the official schema?" }
    $text = $text -replace '(?m)^package onnx;(\r?)$', "package onnx;`$1`noption csharp_namespace = `"$namespace`";`$1"
    Set-Content (Join-Path $work 'onnx.proto') $text -NoNewline
    & $protoc "--proto_path=$work" "--proto_path=$(Join-Path $toolsDir 'include')" "--csharp_out=$work" (Join-Path $work 'onnx.proto')
    if ($LASTEXITCODE -ne 0) { throw "protoc failed (exit code $LASTEXITCODE)." }
    Copy-Item (Join-Path $work 'Onnx.cs') (Join-Path $outputDir 'Onnx.cs') -Force
    Write-Host "Generated $(Join-Path $outputDir 'Onnx.cs') with $(& $protoc --version)."
}
finally { Remove-Item $work -Recurse -Force }
