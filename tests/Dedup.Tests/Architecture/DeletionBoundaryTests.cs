using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using Xunit;

namespace Dedup.Tests.Architecture;

/// <summary>
/// Only maintenance code deletes (issue 12, "Least privilege"): outside the storage implementations themselves, every
/// method that calls a delete of a store (DeleteAsync, AbortIncompleteUploadsAsync, and on versions DeleteVersionAsync and
/// AddDeleteMarkerAsync) must live in Dedup.Maintenance.
/// A backup, restore, check or CLI path that deleted anything would make a stolen backup credential dangerous again.
/// The test reads the IL of every Dedup assembly and finds the call sites, so a new delete anywhere else fails it.
/// </summary>
public sealed class DeletionBoundaryTests
{
    private static readonly string[] DeletingMembers = ["DeleteAsync", "AbortIncompleteUploadsAsync", "DeleteVersionAsync", "AddDeleteMarkerAsync"];
    private static readonly string[] StorageAssemblies = ["Dedup.Storage", "Dedup.Storage.S3"];

    public static TheoryData<string> ProductAssemblies()
    {
        var data = new TheoryData<string>();
        foreach (var name in new[] { "Dedup.Format", "Dedup.Crypto", "Dedup.Chunking", "Dedup.Repository", "Dedup.Archiver", "Dedup.Maintenance", "dedup" })
            data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(ProductAssemblies))]
    public void Only_maintenance_code_calls_a_delete(string assembly)
    {
        var path = Path.Combine(AppContext.BaseDirectory, assembly + ".dll");
        Assert.True(File.Exists(path), $"{path} is missing: the test must see every product assembly");
        var callers = DeleteCallers(path);
        var outside = callers.Where(c => !c.StartsWith("Dedup.Maintenance.", StringComparison.Ordinal)).ToList();
        Assert.True(outside.Count == 0, $"{assembly} deletes outside Dedup.Maintenance: {string.Join(", ", outside)}");
        if (assembly == "Dedup.Maintenance") Assert.NotEmpty(callers); // the scan does find the deletes that exist
        // (the CLI assembly is named "dedup")
    }

    [Fact]
    public void The_scan_finds_a_delete_where_one_is()
    {
        // This test's own assembly calls DeleteAsync below, in a namespace outside Dedup.Maintenance: the scan must see it.
        var callers = DeleteCallers(typeof(DeletionBoundaryTests).Assembly.Location);
        Assert.Contains(callers, c => c.EndsWith(nameof(DeletesSomething), StringComparison.Ordinal));
    }

    private static Task DeletesSomething(Dedup.Storage.IMaintenanceStorage s) => s.DeleteAsync("x");

    /// <summary>"Namespace.Type.Method" of every method whose body calls a delete member of a Dedup.Storage type.</summary>
    private static List<string> DeleteCallers(string path)
    {
        using var pe = new PEReader(File.OpenRead(path));
        var md = pe.GetMetadataReader();
        var result = new List<string>();
        foreach (var typeHandle in md.TypeDefinitions)
        {
            var type = md.GetTypeDefinition(typeHandle);
            foreach (var methodHandle in type.GetMethods())
            {
                var method = md.GetMethodDefinition(methodHandle);
                if (method.RelativeVirtualAddress == 0) continue;
                var il = pe.GetMethodBody(method.RelativeVirtualAddress).GetILReader();
                if (CallsDelete(md, ref il)) result.Add($"{FullName(md, type)}.{md.GetString(method.Name)}");
            }
        }
        return result;
    }

    private static bool CallsDelete(MetadataReader md, ref BlobReader il)
    {
        while (il.RemainingBytes > 0)
        {
            var opcode = ReadOpCode(ref il);
            if (opcode is ILOpCode.Call or ILOpCode.Callvirt or ILOpCode.Ldftn or ILOpCode.Ldvirtftn)
            {
                var handle = MetadataTokens.EntityHandle(il.ReadInt32());
                if (IsDeleteMember(md, handle)) return true;
                continue;
            }
            SkipOperand(ref il, opcode);
        }
        return false;
    }

    private static bool IsDeleteMember(MetadataReader md, EntityHandle handle)
    {
        if (handle.Kind == HandleKind.MethodSpecification) handle = md.GetMethodSpecification((MethodSpecificationHandle)handle).Method;
        if (handle.Kind != HandleKind.MemberReference) return false;
        var member = md.GetMemberReference((MemberReferenceHandle)handle);
        if (!DeletingMembers.Contains(md.GetString(member.Name))) return false;
        if (member.Parent.Kind != HandleKind.TypeReference) return false;
        var parent = md.GetTypeReference((TypeReferenceHandle)member.Parent);
        if (parent.ResolutionScope.Kind != HandleKind.AssemblyReference) return false;
        var assembly = md.GetString(md.GetAssemblyReference((AssemblyReferenceHandle)parent.ResolutionScope).Name);
        return StorageAssemblies.Contains(assembly);
    }

    private static string FullName(MetadataReader md, TypeDefinition type)
    {
        var name = md.GetString(type.Name);
        if (type.GetDeclaringType() is { IsNil: false } outer) return FullName(md, md.GetTypeDefinition(outer)) + "+" + name;
        var ns = md.GetString(type.Namespace);
        return ns.Length == 0 ? name : ns + "." + name;
    }

    private static ILOpCode ReadOpCode(ref BlobReader il)
    {
        byte b = il.ReadByte();
        return b == 0xFE ? (ILOpCode)(0xFE00 | il.ReadByte()) : (ILOpCode)b;
    }

    private static void SkipOperand(ref BlobReader il, ILOpCode op)
    {
        switch (op)
        {
            case ILOpCode.Switch:
                int n = il.ReadInt32();
                il.Offset += 4 * n;
                return;
            default:
                il.Offset += OperandSize(op);
                return;
        }
    }

    private static int OperandSize(ILOpCode op) => op switch
    {
        ILOpCode.Ldarg_s or ILOpCode.Ldarga_s or ILOpCode.Starg_s or ILOpCode.Ldloc_s or ILOpCode.Ldloca_s or ILOpCode.Stloc_s
            or ILOpCode.Ldc_i4_s or ILOpCode.Br_s or ILOpCode.Brfalse_s or ILOpCode.Brtrue_s or ILOpCode.Beq_s or ILOpCode.Bge_s
            or ILOpCode.Bgt_s or ILOpCode.Ble_s or ILOpCode.Blt_s or ILOpCode.Bne_un_s or ILOpCode.Bge_un_s or ILOpCode.Bgt_un_s
            or ILOpCode.Ble_un_s or ILOpCode.Blt_un_s or ILOpCode.Leave_s or ILOpCode.Unaligned => 1,
        ILOpCode.Ldarg or ILOpCode.Ldarga or ILOpCode.Starg or ILOpCode.Ldloc or ILOpCode.Ldloca or ILOpCode.Stloc => 2,
        ILOpCode.Ldc_i8 or ILOpCode.Ldc_r8 => 8,
        ILOpCode.Ldc_i4 or ILOpCode.Ldc_r4 or ILOpCode.Br or ILOpCode.Brfalse or ILOpCode.Brtrue or ILOpCode.Beq or ILOpCode.Bge
            or ILOpCode.Bgt or ILOpCode.Ble or ILOpCode.Blt or ILOpCode.Bne_un or ILOpCode.Bge_un or ILOpCode.Bgt_un
            or ILOpCode.Ble_un or ILOpCode.Blt_un or ILOpCode.Leave or ILOpCode.Jmp or ILOpCode.Call or ILOpCode.Callvirt
            or ILOpCode.Calli or ILOpCode.Newobj or ILOpCode.Ldftn or ILOpCode.Ldvirtftn or ILOpCode.Ldfld or ILOpCode.Ldflda
            or ILOpCode.Stfld or ILOpCode.Ldsfld or ILOpCode.Ldsflda or ILOpCode.Stsfld or ILOpCode.Ldstr or ILOpCode.Ldtoken
            or ILOpCode.Box or ILOpCode.Unbox or ILOpCode.Unbox_any or ILOpCode.Castclass or ILOpCode.Isinst or ILOpCode.Newarr
            or ILOpCode.Ldelema or ILOpCode.Ldelem or ILOpCode.Stelem or ILOpCode.Ldobj or ILOpCode.Stobj or ILOpCode.Cpobj
            or ILOpCode.Initobj or ILOpCode.Mkrefany or ILOpCode.Refanyval or ILOpCode.Sizeof or ILOpCode.Constrained => 4,
        _ => 0,
    };
}
