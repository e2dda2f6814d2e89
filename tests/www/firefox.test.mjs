import { pageSuite } from "./page.mjs";

pageSuite("firefox");
