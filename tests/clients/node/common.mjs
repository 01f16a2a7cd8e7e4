// Shared by the scenario scripts: where the gateway is, and how a script reports.
// Each script does one scenario, prints one JSON document of what it got on stdout, and exits
// non-zero (the error on stderr) when the client threw.

export const GATEWAY_URL = process.env.GATEWAY_URL;
export const API_KEY = process.env.GATEWAY_API_KEY ?? "admin-secret";
export const MODEL = process.env.GATEWAY_MODEL ?? "claude-4.5-sonnet";

export async function run(scenario) {
  if (!GATEWAY_URL) {
    console.error("set GATEWAY_URL to the gateway's base URL, e.g. http://127.0.0.1:3000");
    process.exit(2);
  }
  try {
    const got = await scenario();
    process.stdout.write(`${JSON.stringify(got)}\n`);
  } catch (error) {
    console.error(error?.stack ?? String(error));
    if (error?.responseBody) console.error(`response body: ${error.responseBody}`);
    process.exit(1);
  }
}
