/** Kept in step with package.json by the test in test/cli/version.test.ts. */
export const GATEWAY_VERSION = '0.1.0';
