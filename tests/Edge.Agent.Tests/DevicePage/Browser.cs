using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Edge.Agent.Tests.DevicePage;

/// <summary>Headless Chromium from Debian's packages, driven through its chromedriver; screenshots go to the test results.</summary>
internal sealed class Browser : IDisposable
{
    private readonly ChromeDriver _driver;
    private readonly TestContext _context;

    public Browser(TestContext context, int width, int height)
    {
        _context = context;
        // Debian's chromium and chromedriver; nothing is downloaded (Selenium Manager is not asked).
        var service = ChromeDriverService.CreateDefaultService("/usr/bin", "chromedriver");
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = "/usr/bin/chromium" };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", $"--window-size={width},{height}");
        _driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    public IWebDriver Driver => _driver;

    public IWebElement Find(string id) => _driver.FindElement(By.Id(id));

    /// <summary>Waits (up to 30 s) until the condition holds, failing with what was last seen.</summary>
    public void WaitFor(Func<IWebDriver, bool> condition, string what)
    {
        var wait = new WebDriverWait(_driver, TimeSpan.FromSeconds(30));
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException), typeof(StaleElementReferenceException));
        try
        {
            wait.Until(condition);
        }
        catch (WebDriverTimeoutException)
        {
            Screenshot($"timeout-{what.Replace(' ', '-')}");
            throw new AssertFailedException($"Timed out waiting for {what}. Page text: {_driver.FindElement(By.TagName("body")).Text}");
        }
    }

    /// <summary>Where the screenshots are kept: tests/artifacts/screenshots (ignored by git), and attached to the test results.</summary>
    public static string ScreenshotFolder => Path.Combine(Edge.TestSupport.RepositoryPaths.Root, "tests", "artifacts", "screenshots");

    /// <summary>A PNG of the page, kept as a test artifact.</summary>
    public void Screenshot(string name)
    {
        string folder = ScreenshotFolder;
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, $"{name}.png");
        _driver.GetScreenshot().SaveAsFile(path);
        _context.AddResultFile(path);
    }

    public void Dispose() => _driver.Quit();
}
