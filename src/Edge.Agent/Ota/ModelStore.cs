using System.Security.Cryptography;
using Edge.Runtime;
using Edge.Runtime.Bundles;
using Edge.Runtime.Packaging;
using Edge.Runtime.Storage;

namespace Edge.Agent.Ota;

/// <summary>
/// The installed model versions under <c>&lt;state&gt;/models</c>: one folder per version, a
/// <c>current</c> symbolic link flipped atomically (new link, then rename over), a
/// <c>previous</c> link to roll back to, and recovery at start. Every step leaves the store in a
/// state <see cref="Recover"/> turns into a served model, whenever the power goes.
/// </summary>
internal sealed class ModelStore(string stateDirectory)
{
    public const string CurrentLink = "current";
    public const string PreviousLink = "previous";
    private const string StagingSuffix = ".staging";
    private const string NewLinkSuffix = ".new";

    public string Root { get; } = Path.Combine(stateDirectory, "models");

    /// <summary>The folder <c>current</c> points at, or null when there is none.</summary>
    public string? Current => Resolve(CurrentLink);

    public string? Previous => Resolve(PreviousLink);

    /// <summary>
    /// Verifies a bundle and extracts it into <c>&lt;version&gt;.staging</c>, then renames it to
    /// <c>&lt;version&gt;</c>. A version not above the current one is refused unless forced; an
    /// installed version is refused. Does not activate it (the caller smoke-tests first).
    /// </summary>
    /// <returns>The installed package folder.</returns>
    /// <param name="servingVersion">The version in service, when it is not the store's current (a daemon started with --model).</param>
    /// <param name="refuse">The caller's own objection to a version (rolled back before, say), or null.</param>
    public (string Directory, ModelManifest Manifest) Install(Stream bundle, IReadOnlyList<ECDsa> trustedKeys, bool force = false, string? servingVersion = null,
        Func<string, string?>? refuse = null)
    {
        Directory.CreateDirectory(Root);
        string? target = null;
        var manifest = ModelBundle.Verify(bundle, trustedKeys, manifest =>
        {
            if (VersionProblem(manifest.Version) is { } problem)
                throw new BundleException(problem);
            if (Directory.Exists(Path.Combine(Root, manifest.Version)))
                throw new BundleException($"Version {manifest.Version} is installed already.");
            if (!force && (servingVersion ?? CurrentVersion()) is { } current && CompareVersions(manifest.Version, current) <= 0)
                throw new BundleException($"Version {manifest.Version} is not newer than the current {current}; force the update to install it anyway.");
            if (refuse?.Invoke(manifest.Version) is { } objection)
                throw new BundleException(objection);
            target = Path.Combine(Root, manifest.Version + StagingSuffix);
            if (Directory.Exists(target))
                Directory.Delete(target, recursive: true); // an interrupted earlier attempt
            return target;
        }, typeof(ModelBundle).Assembly.GetName().Version);
        string installed = Path.Combine(Root, manifest.Version);
        Directory.Move(target!, installed);
        DurableFileSystem.FlushDirectory(Root);
        return (installed, manifest);
    }

    /// <summary>
    /// Why a version cannot name a store folder, or null: 1 to 64 characters of letters, digits,
    /// '.', '_', '+' and '-', starting with a letter or digit, with no ".." and none of the names
    /// and suffixes the store uses itself ("current", "previous", ".staging", ".new"). A signed
    /// version outside that must not reach the file system (".new" once crashed the start-up).
    /// </summary>
    public static string? VersionProblem(string version)
    {
        bool safe = version.Length is > 0 and <= 64 && char.IsAsciiLetterOrDigit(version[0])
            && version.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '+' or '-')
            && !version.Contains("..", StringComparison.Ordinal)
            && version is not (CurrentLink or PreviousLink)
            && !version.EndsWith(StagingSuffix, StringComparison.OrdinalIgnoreCase) && !version.EndsWith(NewLinkSuffix, StringComparison.OrdinalIgnoreCase);
        return safe ? null : $"The model version '{Printable(version)}' is not a safe version name (1-64 letters, digits, '.', '_', '+', '-'; not ending in {StagingSuffix} or {NewLinkSuffix}).";
    }

    private static string Printable(string text) => new([.. text.Take(64).Select(c => char.IsControl(c) ? '?' : c)]);

    /// <summary>
    /// On a first start with an empty store: copies the model the daemon ships in as an installed
    /// version and points <c>current</c> at it, so that later updates, probation and rollback
    /// work from the store. Returns the installed folder.
    /// </summary>
    public string Seed(string packagedModel)
    {
        string version = ModelPackage.Open(packagedModel).Manifest.Version;
        if (VersionProblem(version) is { } problem)
            throw new ModelLoadException(problem);
        Directory.CreateDirectory(Root);
        string installed = Path.Combine(Root, version);
        if (Directory.Exists(installed) && !Opens(installed))
        {
            // A damaged copy of the same version (Recover found nothing that verifies): replace it.
            string doomed = installed + StagingSuffix;
            if (Directory.Exists(doomed))
                Directory.Delete(doomed, recursive: true);
            Directory.Move(installed, doomed);
            Directory.Delete(doomed, recursive: true);
        }
        if (!Directory.Exists(installed))
        {
            string staging = installed + StagingSuffix;
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
            CopyFolder(packagedModel, staging);
            Directory.Move(staging, installed);
            DurableFileSystem.FlushDirectory(Root);
        }
        Activate(version);
        return installed;
    }

    private static void CopyFolder(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (string file in Directory.EnumerateFiles(source))
        {
            string copy = Path.Combine(destination, Path.GetFileName(file));
            File.Copy(file, copy);
            using var handle = File.OpenHandle(copy, FileMode.Open, FileAccess.ReadWrite);
            RandomAccess.FlushToDisk(handle);
        }
        foreach (string folder in Directory.EnumerateDirectories(source))
            CopyFolder(folder, Path.Combine(destination, Path.GetFileName(folder)));
    }

    /// <summary>Points <c>current</c> at an installed version, and <c>previous</c> at what it pointed at.</summary>
    public void Activate(string version)
    {
        string folder = Path.Combine(Root, version);
        if (!Directory.Exists(folder))
            throw new InvalidOperationException($"Version {version} is not installed.");
        if (Current is { } current && Path.GetFileName(current) != version)
            Link(PreviousLink, Path.GetFileName(current));
        Link(CurrentLink, version);
    }

    /// <summary>
    /// Points <c>current</c> back at <c>previous</c> (or removes it when there is none: the daemon
    /// then serves the newest other installed version, else its built-in model) and removes the
    /// version it pointed at, renamed to a staging folder first so that a power cut half way
    /// through the delete leaves nothing <see cref="Recover"/> would serve. Returns the folder now current, or null.
    /// </summary>
    public string? RollBack()
    {
        string? previous = Previous;
        string? failed = Current;
        if (previous is not null)
            Link(CurrentLink, Path.GetFileName(previous));
        else
            File.Delete(Path.Combine(Root, CurrentLink));
        File.Delete(Path.Combine(Root, PreviousLink));
        DurableFileSystem.FlushDirectory(Root);
        if (failed is not null && failed != previous)
        {
            string doomed = failed + StagingSuffix;
            if (Directory.Exists(doomed))
                Directory.Delete(doomed, recursive: true);
            Directory.Move(failed, doomed);
            DurableFileSystem.FlushDirectory(Root);
            Directory.Delete(doomed, recursive: true);
        }
        return previous;
    }

    /// <summary>Deletes installed versions beyond the newest <paramref name="keep"/>, never current or previous.</summary>
    public IReadOnlyList<string> Prune(int keep)
    {
        var protectedVersions = new[] { Current, Previous }.OfType<string>().Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal);
        var removed = InstalledVersions().Skip(keep).Where(v => !protectedVersions.Contains(v)).ToList();
        foreach (string version in removed)
            Directory.Delete(Path.Combine(Root, version), recursive: true);
        return removed;
    }

    /// <summary>
    /// At start: removes half-written staging folders and links; if <c>current</c> is missing,
    /// dangling or points at a package that no longer verifies, points it at the newest version
    /// that does. Returns the package folder to serve, or null when the store holds none.
    /// </summary>
    public string? Recover(Action<string>? report = null)
    {
        if (!Directory.Exists(Root))
            return null;
        foreach (string staging in Directory.EnumerateDirectories(Root, "*" + StagingSuffix))
        {
            Directory.Delete(staging, recursive: true);
            report?.Invoke($"Removed the interrupted staging folder {staging}.");
        }
        foreach (string link in Directory.EnumerateFileSystemEntries(Root, "*" + NewLinkSuffix))
        {
            // Only our half-made links; a folder of that name is not ours to touch (nor a reason to stop).
            if (IsLink(link) || File.Exists(link))
                File.Delete(link);
        }
        if (Current is { } current && Opens(current))
            return current;
        if (Current is { } broken)
            report?.Invoke($"The current model {broken} does not verify; falling back.");
        foreach (string version in InstalledVersions())
        {
            string folder = Path.Combine(Root, version);
            if (Opens(folder))
            {
                Link(CurrentLink, version);
                report?.Invoke($"current now points at {version}, the newest installed version that verifies.");
                return folder;
            }
        }
        return null;
    }

    /// <summary>Installed version folders, newest first.</summary>
    public IReadOnlyList<string> InstalledVersions() => !Directory.Exists(Root)
        ? []
        : Directory.EnumerateDirectories(Root).Select(Path.GetFileName).OfType<string>()
            .Where(name => VersionProblem(name) is null && !IsLink(Path.Combine(Root, name)))
            .Order(Comparer<string>.Create((a, b) => CompareVersions(b, a))).ToList();

    private string? CurrentVersion() => Current is { } current ? Path.GetFileName(current) : null;

    /// <summary>Numeric versions compare as versions (0.10.0 above 0.9.0); anything else ordinally.</summary>
    public static int CompareVersions(string a, string b) =>
        Version.TryParse(a, out var va) && Version.TryParse(b, out var vb) ? va.CompareTo(vb) : string.CompareOrdinal(a, b);

    private void Link(string name, string version)
    {
        string temporary = Path.Combine(Root, name + NewLinkSuffix);
        if (File.Exists(temporary) || IsLink(temporary))
            File.Delete(temporary);
        File.CreateSymbolicLink(temporary, version); // relative: the store can move with the state directory
        DurableFileSystem.ReplaceAtomically(temporary, Path.Combine(Root, name));
        DurableFileSystem.FlushDirectory(Root);
    }

    private string? Resolve(string name)
    {
        string link = Path.Combine(Root, name);
        if (!IsLink(link))
            return null;
        string target = Path.GetFullPath(Path.Combine(Root, new FileInfo(link).LinkTarget!));
        return Directory.Exists(target) ? target : null;
    }

    private static bool IsLink(string path) => new FileInfo(path).LinkTarget is not null;

    private static bool Opens(string folder)
    {
        try
        {
            ModelPackage.Open(folder);
            return true;
        }
        catch (ModelLoadException)
        {
            return false;
        }
    }
}
