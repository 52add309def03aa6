// MSBuild task (compiled by RoslynCodeTaskFactory) that marks one symbol-version requirement
// of an ELF64 shared library as weak (VER_FLG_WEAK in its Vernaux entry).
//
// Why: TorchSharp-cpu 0.107 ships libLibTorchSharp.so built with GCC 13. It names
// GLIBCXX_3.4.32 for one symbol, std::ios_base_library_init, which GCC 13's <iostream> only
// references to pull the stream initialiser in; no relocation uses it. Debian 12's libstdc++
// stops at GLIBCXX_3.4.30, so the loader refuses the whole library over that one version.
// A weak requirement is checked but not enforced, which is exactly what we need.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class ElfWeakVersionTask : Task
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlagWeak = 0x2;

    [Required] public string File { get; set; } = "";
    [Required] public string Version { get; set; } = "";

    public override bool Execute()
    {
        byte[] elf = System.IO.File.ReadAllBytes(File);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
        {
            Log.LogError($"{File} is not an ELF file.");
            return false;
        }
        if (elf[4] != 2 || elf[5] != 1)
        {
            Log.LogError($"{File} is not a little-endian ELF64 file; only those are supported.");
            return false;
        }

        long sectionTable = BitConverter.ToInt64(elf, 0x28);
        int sectionSize = BitConverter.ToUInt16(elf, 0x3A);
        int sectionCount = BitConverter.ToUInt16(elf, 0x3C);
        for (int i = 0; i < sectionCount; i++)
        {
            int header = checked((int)(sectionTable + (long)i * sectionSize));
            if (BitConverter.ToUInt32(elf, header + 4) != ShtGnuVerneed)
                continue;
            int verneed = checked((int)BitConverter.ToInt64(elf, header + 0x18));
            int stringsHeader = checked((int)(sectionTable + (long)BitConverter.ToUInt32(elf, header + 0x28) * sectionSize));
            int strings = checked((int)BitConverter.ToInt64(elf, stringsHeader + 0x18));
            return MarkWeak(elf, verneed, strings);
        }
        Log.LogError($"{File} has no GNU version-needs section.");
        return false;
    }

    private bool MarkWeak(byte[] elf, int verneed, int strings)
    {
        for (int need = verneed; ; )
        {
            int auxCount = BitConverter.ToUInt16(elf, need + 2);
            int aux = need + (int)BitConverter.ToUInt32(elf, need + 8);
            for (int a = 0; a < auxCount; a++)
            {
                string name = ReadString(elf, strings + (int)BitConverter.ToUInt32(elf, aux + 8));
                if (name == Version)
                {
                    ushort flags = BitConverter.ToUInt16(elf, aux + 4);
                    if ((flags & VerFlagWeak) == 0)
                    {
                        BitConverter.GetBytes((ushort)(flags | VerFlagWeak)).CopyTo(elf, aux + 4);
                        System.IO.File.WriteAllBytes(File, elf);
                        Log.LogMessage(MessageImportance.Normal, $"Marked {Version} weak in {File}.");
                    }
                    return true;
                }
                aux += (int)BitConverter.ToUInt32(elf, aux + 12);
            }
            uint next = BitConverter.ToUInt32(elf, need + 12);
            if (next == 0)
                break;
            need += (int)next;
        }
        // Nothing to do: a future TorchSharp build may no longer need the version.
        Log.LogMessage(MessageImportance.Normal, $"{File} does not require {Version}; left unchanged.");
        return true;
    }

    private static string ReadString(byte[] elf, int offset)
    {
        int end = Array.IndexOf(elf, (byte)0, offset);
        return Encoding.ASCII.GetString(elf, offset, end - offset);
    }
}
