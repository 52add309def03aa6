using System.Security.Cryptography;
using Edge.Agent.Ota;
using Edge.Runtime.Bundles;
using Edge.Runtime.Packaging;
using Edge.TestSupport;

namespace Edge.Agent.Tests.Ota;

/// <summary>The installed-model store: install, atomic activation, pruning, and recovery from every interrupted state.</summary>
[TestClass]
public sealed class ModelStoreTests
{
    private static string s_folder = null!;
    private static ECDsa s_signer = null!;
    private static ECDsa s_trusted = null!;

    [ClassInitialize]
    public static void MakeKeys(TestContext _)
    {
        s_folder = Directory.CreateTempSubdirectory("dsedge-store").FullName;
        s_signer = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        s_trusted = ECDsa.Create(s_signer.ExportParameters(false));
    }

    [ClassCleanup]
    public static void Clean()
    {
        s_signer.Dispose();
        s_trusted.Dispose();
        Directory.Delete(s_folder, recursive: true);
    }

    private static byte[] Bundle(string version) => TestBundles.Make(s_folder, s_signer, version);

    private static ModelStore NewStore() => new(Path.Combine(s_folder, $"state-{Guid.NewGuid():N}"));

    private static string Install(ModelStore store, string version, bool force = false)
    {
        using var stream = new MemoryStream(Bundle(version));
        return store.Install(stream, [s_trusted], force).Directory;
    }

    [TestMethod]
    public void InstallsActivatesAndKeepsThePreviousVersion()
    {
        var store = NewStore();
        Install(store, "1.0.0");
        store.Activate("1.0.0");
        Install(store, "1.1.0");
        store.Activate("1.1.0");
        Assert.AreEqual("1.1.0", Path.GetFileName(store.Current));
        Assert.AreEqual("1.1.0", ModelPackage.Open(Path.Combine(store.Root, ModelStore.CurrentLink)).Manifest.Version);
        Assert.AreEqual("1.0.0", Path.GetFileName(store.Previous));
        Assert.IsFalse(Directory.EnumerateFileSystemEntries(store.Root).Any(e => e.EndsWith(".staging", StringComparison.Ordinal) || e.EndsWith(".new", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void AnOlderOrEqualVersionIsRefusedUnlessForced()
    {
        var store = NewStore();
        Install(store, "2.0.0");
        store.Activate("2.0.0");
        StringAssert.Contains(Assert.ThrowsExactly<BundleException>(() => Install(store, "1.9.0")).Message, "not newer");
        StringAssert.Contains(Assert.ThrowsExactly<BundleException>(() => Install(store, "2.0.0")).Message, "installed already");
        Install(store, "1.9.0", force: true);
        CollectionAssert.AreEqual(new[] { "2.0.0", "1.9.0" }, store.InstalledVersions().ToList());
    }

    [TestMethod]
    public void ARefusedBundleLeavesNothingAndTheCurrentModelUntouched()
    {
        var store = NewStore();
        Install(store, "1.0.0");
        store.Activate("1.0.0");
        byte[] tampered = Bundle("1.1.0");
        tampered[^2000] ^= 0x01; // inside the last file's data
        using (var stream = new MemoryStream(tampered))
            Assert.ThrowsExactly<BundleException>(() => store.Install(stream, [s_trusted]));
        CollectionAssert.AreEqual(new[] { "1.0.0" }, store.InstalledVersions().ToList());
        Assert.AreEqual(1, Directory.EnumerateDirectories(store.Root).Count(d => !d.EndsWith(ModelStore.CurrentLink, StringComparison.Ordinal)));
        Assert.AreEqual("1.0.0", Path.GetFileName(store.Recover()));
    }

    [TestMethod]
    public void PruneKeepsTheNewestAndNeverCurrentOrPrevious()
    {
        var store = NewStore();
        foreach (string version in new[] { "1.0.0", "1.1.0", "1.2.0", "1.3.0" })
            Install(store, version);
        store.Activate("1.0.0");
        store.Activate("1.1.0");
        CollectionAssert.AreEquivalent(new[] { "1.2.0" }, store.Prune(keep: 1).ToList(), "1.3.0 is newest; 1.1.0 current; 1.0.0 previous");
    }

    [TestMethod]
    public void RecoveryRemovesInterruptedWorkAndFallsBackFromABrokenCurrent()
    {
        var store = NewStore();
        Install(store, "1.0.0");
        Install(store, "1.1.0");
        store.Activate("1.1.0");
        // What a power cut can leave: a half-extracted staging folder, a new link not yet renamed.
        Directory.CreateDirectory(Path.Combine(store.Root, "1.2.0.staging"));
        File.WriteAllText(Path.Combine(store.Root, "1.2.0.staging", "model.onnx"), "half");
        File.CreateSymbolicLink(Path.Combine(store.Root, "current.new"), "1.2.0");
        Assert.AreEqual("1.1.0", Path.GetFileName(store.Recover()));
        Assert.IsFalse(Directory.Exists(Path.Combine(store.Root, "1.2.0.staging")));
        Assert.IsFalse(File.Exists(Path.Combine(store.Root, "current.new")) || new FileInfo(Path.Combine(store.Root, "current.new")).LinkTarget is not null);

        // The current version's files damaged: the newest version that verifies takes over.
        File.AppendAllText(Path.Combine(store.Current!, "tokenizer.json"), " ");
        var reports = new List<string>();
        Assert.AreEqual("1.0.0", Path.GetFileName(store.Recover(reports.Add)));
        Assert.AreEqual("1.0.0", Path.GetFileName(store.Current));
        Assert.IsNotEmpty(reports);

        // A dangling current (its folder deleted) is repaired the same way.
        Directory.Delete(Path.Combine(store.Root, "1.0.0"), recursive: true);
        Assert.IsNull(store.Recover(), "nothing that verifies is left: the daemon serves its embedded model");
    }

    [TestMethod]
    public async Task TheDaemonServesTheStoresCurrentModelAndRepairsABrokenOneAtStart()
    {
        string state = Path.Combine(s_folder, $"state-{Guid.NewGuid():N}");
        var store = new ModelStore(state);
        Install(store, "3.0.0");
        Install(store, "3.1.0");
        store.Activate("3.1.0");
        File.Delete(Path.Combine(store.Current!, "tokenizer.json")); // 3.1.0 broken on disk
        using var daemon = await DaemonProcess.StartAsync(state, model: null);
        string ready = await daemon.Client.GetStringAsync("/readyz");
        StringAssert.Contains(ready, "\"version\":\"3.0.0\"");
        Assert.AreEqual("3.0.0", Path.GetFileName(store.Current));
    }

    [TestMethod]
    public void RollBackPointsCurrentAtPreviousAndRemovesTheFailedVersion()
    {
        var store = NewStore();
        Install(store, "1.0.0");
        store.Activate("1.0.0");
        Install(store, "1.1.0");
        store.Activate("1.1.0");
        Assert.AreEqual("1.0.0", Path.GetFileName(store.RollBack()));
        Assert.AreEqual("1.0.0", Path.GetFileName(store.Current));
        Assert.IsNull(store.Previous);
        Assert.IsFalse(Directory.Exists(Path.Combine(store.Root, "1.1.0")));
        Assert.IsFalse(Directory.EnumerateDirectories(store.Root).Any(d => d.EndsWith(".staging", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void RollBackWithoutAPreviousVersionLeavesNoCurrentSoTheBuiltInModelServes()
    {
        var store = NewStore();
        Install(store, "1.0.0");
        store.Activate("1.0.0");
        Assert.IsNull(store.RollBack());
        Assert.IsNull(store.Current);
        Assert.IsNull(store.Recover());
    }
}

/// <summary>The OTA journal: outcomes, probation and crash counting survive a restart (a new journal on the same folder).</summary>
[TestClass]
public sealed class OtaJournalTests
{
    [TestMethod]
    public void StartsWithoutACleanStopCountAsCrashesAndACleanStopDoesNot()
    {
        string folder = Directory.CreateTempSubdirectory("dsedge-journal").FullName;
        new OtaJournal(folder).BeginProbation("2.0.0", "1.0.0");
        Assert.AreEqual(1, new OtaJournal(folder).RecordStart()!.UncleanStarts, "the installing run never stopped cleanly");
        Assert.AreEqual(2, new OtaJournal(folder).RecordStart()!.UncleanStarts);
        var journal = new OtaJournal(folder);
        journal.RecordCleanStop();
        Assert.AreEqual(2, new OtaJournal(folder).RecordStart()!.UncleanStarts, "a clean stop is not a crash");

        new OtaJournal(folder).Reject("2.0.0", new UpdateStatus("rolled-back", "1.0.0", "2.0.0", "crash loop", DateTimeOffset.UtcNow));
        var reopened = new OtaJournal(folder);
        Assert.IsNull(reopened.Probation);
        Assert.IsTrue(reopened.IsRejected("2.0.0"));
        Assert.IsFalse(reopened.IsRejected("1.0.0"));
        Assert.AreEqual("rolled-back", reopened.Last!.State);
        Assert.IsNull(new OtaJournal(folder).RecordStart());
        Directory.Delete(folder, recursive: true);
    }

    [TestMethod]
    public void AnUnreadableJournalReadsAsEmpty()
    {
        string folder = Directory.CreateTempSubdirectory("dsedge-journal").FullName;
        File.WriteAllText(Path.Combine(folder, OtaJournal.FileName), "{not json");
        var journal = new OtaJournal(folder);
        Assert.IsNull(journal.Last);
        Assert.IsNull(journal.Probation);
        Directory.Delete(folder, recursive: true);
    }

    [TestMethod]
    public void TheProbationVerdictNeedsBothEnoughFailuresAndAHighEnoughRate()
    {
        var settings = new ProbationSettings(TimeSpan.FromMinutes(5), MinFailures: 3, MaxErrorPercent: 25, MaxRestarts: 2);
        Assert.IsNull(settings.Verdict(finished: 0, failed: 2), "too few failures");
        Assert.IsNull(settings.Verdict(finished: 100, failed: 10), "10% is under the limit");
        StringAssert.Contains(settings.Verdict(finished: 9, failed: 3), "3 of its 12 generations failed");
        Assert.IsNotNull(settings.Verdict(finished: 0, failed: 3));
    }
}
