import { pageSuite } from "./page.mjs";

pageSuite("chromium");
