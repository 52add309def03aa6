using System.Net;
using System.Security.Cryptography;
using Edge.Agent.Tests.Ota;
using OpenQA.Selenium;

namespace Edge.Agent.Tests.DevicePage;

/// <summary>
/// The device page at / in a real browser (headless Chromium): it reads the status, draws from
/// /metrics, streams a chat, and, for an admin, installs a bundle and rolls it back; a wrong key
/// shows as such. Screenshots at a 1024x600 panel and a laptop size are kept with the results.
/// </summary>
[TestClass]
public sealed class DevicePageTests
{
    private static string s_folder = null!;
    private static ECDsa s_signer = null!;
    private static string s_publicKey = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void MakeKeys(TestContext _)
    {
        s_folder = Directory.CreateTempSubdirectory("dsedge-page").FullName;
        (s_signer, s_publicKey) = TestBundles.SigningKey(s_folder);
    }

    [ClassCleanup]
    public static void Clean()
    {
        s_signer.Dispose();
        Directory.Delete(s_folder, recursive: true);
    }

    /// <summary>Anonymous loopback: status, live numbers, and a chat whose answer streams in.</summary>
    [TestMethod]
    [DataRow(1024, 600, "panel")]
    [DataRow(1440, 900, "laptop")]
    public async Task ShowsStatusChartsAndAStreamedChat(int width, int height, string size)
    {
        await using var daemon = await LiveDaemon.StartAsync();
        using var browser = new Browser(TestContext, width, height);
        browser.Driver.Navigate().GoToUrl(daemon.Client.BaseAddress!);
        browser.WaitFor(_ => browser.Find("s-model").Text == "deepseek-edge", "the model name");
        StringAssert.Contains(browser.Find("access").Text, "anonymous");
        Assert.AreEqual("ready", browser.Find("health").Text);
        Assert.AreEqual("cpu", browser.Find("s-provider").Text);
        browser.WaitFor(_ => browser.Find("v-memory").Text.EndsWith("MiB", StringComparison.Ordinal), "the memory reading");

        browser.Find("prompt").SendKeys("Report the oven temperature.");
        browser.Find("max-tokens").Clear();
        browser.Find("max-tokens").SendKeys("24");
        browser.Find("send").Click();
        browser.WaitFor(d => d.FindElements(By.CssSelector(".turn.assistant span")).Any(e => e.Text.Length > 0) && browser.Find("send").Enabled, "the streamed answer");
        Assert.AreEqual(0, browser.Driver.FindElements(By.CssSelector(".turn.error")).Count);
        // The answer's tokens show on the live chart's counter within a scrape or two.
        browser.WaitFor(_ => browser.Find("v-ttft").Text.EndsWith("ms", StringComparison.Ordinal), "the first-token latency");
        browser.Screenshot($"device-page-{size}");
        Assert.IsTrue(browser.Find("admin-panel").GetAttribute("hidden") is not null, "no admin panel without an admin key");
    }

    /// <summary>An admin uploads a signed bundle, sees it installed and in the history, then rolls back to the previous version.</summary>
    [TestMethod]
    public async Task AnAdminInstallsABundleAndRollsItBack()
    {
        await using var daemon = await LiveDaemon.StartAsync([.. TestKeys.AdminArguments, $"--Ota:TrustedKeys:0={s_publicKey}"]);
        string bundle = Path.Combine(s_folder, "model-0.7.0.edgepkg");
        await File.WriteAllBytesAsync(bundle, TestBundles.Make(s_folder, s_signer, "0.7.0"));
        using var browser = new Browser(TestContext, 1024, 600);
        browser.Driver.Navigate().GoToUrl(daemon.Client.BaseAddress!);
        browser.WaitFor(_ => browser.Find("s-model").Text.Length > 1, "the status");
        browser.Find("key").SendKeys(TestKeys.Admin);
        browser.Find("key").Submit();
        browser.WaitFor(_ => browser.Find("admin-panel").Displayed, "the admin panel");
        StringAssert.Contains(browser.Find("access").Text, "admin");

        browser.Find("bundle").SendKeys(bundle);
        browser.Driver.FindElement(By.CssSelector("#upload-form button")).Click();
        browser.WaitFor(_ => browser.Find("upload-state").Text.StartsWith("installed 0.7.0", StringComparison.Ordinal), "the installed bundle");
        browser.WaitFor(_ => browser.Find("s-version").Text.StartsWith("0.7.0", StringComparison.Ordinal), "the new version in the status");
        StringAssert.Contains(browser.Find("ota-history").Text, "installed 0.7.0");
        browser.Screenshot("device-page-admin-installed");

        browser.Find("rollback").Click();
        browser.Driver.SwitchTo().Alert().Accept();
        browser.WaitFor(_ => browser.Find("upload-state").Text.StartsWith("rolled back to", StringComparison.Ordinal), "the rollback");
        browser.WaitFor(_ => browser.Find("s-version").Text.StartsWith("0.1.0", StringComparison.Ordinal), "the previous version in the status");
        StringAssert.Contains(browser.Find("ota-history").Text, "rolled-back");
        browser.Screenshot("device-page-admin-rolled-back");
    }

    /// <summary>Without anonymous access, a wrong key is shown as such and nothing else loads.</summary>
    [TestMethod]
    public async Task AWrongKeyIsShownAsSuch()
    {
        await using var daemon = await LiveDaemon.StartAsync("--Auth:AllowAnonymousLoopback=false", "--Auth:Keys:0:Name=plc", $"--Auth:Keys:0:Sha256={Edge.Agent.Security.ApiKeys.Hash("right")}", "--Auth:Keys:0:Roles:0=infer");
        using var browser = new Browser(TestContext, 1024, 600);
        browser.Driver.Navigate().GoToUrl(daemon.Client.BaseAddress!);
        browser.WaitFor(_ => browser.Find("access").Text.Contains("a key is needed", StringComparison.Ordinal), "the missing-key state");
        browser.Find("key").SendKeys("wrong");
        browser.Find("key").Submit();
        browser.WaitFor(_ => browser.Find("access").Text.Contains("wrong key", StringComparison.Ordinal), "the wrong-key state");
        Assert.AreEqual("–", browser.Find("s-model").Text);
        browser.Find("key").Clear();
        browser.Find("key").SendKeys("right");
        browser.Find("key").Submit();
        browser.WaitFor(_ => browser.Find("s-model").Text == "deepseek-edge", "the status with the right key");
        browser.Screenshot("device-page-keyed");
    }

    /// <summary>The page needs nothing from outside the device: no external address in it, and a CSP that says 'self'.</summary>
    [TestMethod]
    public async Task ThePageMakesNoExternalRequests()
    {
        await using var daemon = await LiveDaemon.StartAsync();
        foreach (string path in new[] { "/", "/ui/app.js", "/ui/app.css" })
        {
            using var response = await daemon.Client.GetAsync(path);
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, path);
            string text = await response.Content.ReadAsStringAsync();
            Assert.IsFalse(text.Contains("http://", StringComparison.Ordinal) || text.Contains("https://", StringComparison.Ordinal), $"{path} names an external address");
            StringAssert.Contains(response.Headers.GetValues("Content-Security-Policy").Single(), "default-src 'self'");
        }
    }
}
