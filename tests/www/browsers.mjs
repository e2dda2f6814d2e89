// The system's browsers, headless, through WebDriver (selenium-webdriver with
// Debian's chromedriver and geckodriver from crates.io; nothing is downloaded).
// Firefox gets the prefs in webdriver.json that keep it off the network.
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { Builder } from "selenium-webdriver";
import chrome from "selenium-webdriver/chrome.js";
import firefox from "selenium-webdriver/firefox.js";

const capabilities = JSON.parse(await readFile(new URL("../../webdriver.json", import.meta.url), "utf8"));
const DESKTOP = { width: 1280, height: 800 };

/** A headless `name` ("chromium" or "firefox") whose viewport is 1280×800; Chromium takes `extra` flags. */
export async function launch(name, extra = []) {
  const builder = new Builder();
  if (name === "chromium") {
    const options = new chrome.Options()
      .setChromeBinaryPath(process.env.CHROMIUM ?? "/usr/bin/chromium")
      .addArguments("--headless=new", "--no-sandbox", ...capabilities["goog:chromeOptions"].args.map((a) => `--${a}`), ...extra);
    options.setLoggingPrefs({ browser: "ALL" });
    builder.forBrowser("chrome").setChromeOptions(options).setChromeService(new chrome.ServiceBuilder(process.env.CHROMEDRIVER ?? "/usr/bin/chromedriver"));
  } else if (name === "firefox") {
    const options = new firefox.Options().addArguments("-headless");
    for (const [pref, value] of Object.entries(capabilities["moz:firefoxOptions"].prefs)) options.setPreference(pref, value);
    const geckodriver = process.env.GECKODRIVER ?? `${homedir()}/.cargo/bin/geckodriver`;
    builder.forBrowser("firefox").setFirefoxOptions(options).setFirefoxService(new firefox.ServiceBuilder(geckodriver));
  } else {
    throw new Error(`no browser named ${name}`);
  }
  const driver = await builder.build();
  await viewport(driver, DESKTOP);
  return driver;
}

/**
 * Sizes the window so that the page's viewport is `size`, as near as the
 * browser allows (Firefox keeps windows at least 450 px wide). Resolves with the
 * viewport it got.
 */
export async function viewport(driver, size) {
  await driver.manage().window().setRect(size);
  const inner = await driver.executeScript("return { width: innerWidth, height: innerHeight }");
  await driver.manage().window().setRect({ width: 2 * size.width - inner.width, height: 2 * size.height - inner.height });
  return driver.executeScript("return { width: innerWidth, height: innerHeight }");
}

/** What the page logged as an error (Chromium reports its console; Firefox's driver cannot). */
export async function consoleErrors(driver, name) {
  if (name !== "chromium") return [];
  const entries = await driver.manage().logs().get("browser");
  return entries.filter((e) => e.level.name === "SEVERE").map((e) => e.message);
}
