/** Build-time constants, set by `define` in vite.config.ts. */

/** e.g. "0.1.0+529f22e", or APP_VERSION from the build's environment. */
declare const __APP_VERSION__: string;
/** When the build ran, ISO 8601. */
declare const __APP_BUILD_TIME__: string;
/** True in the built app, which has a service worker (sw.js); false in dev and unit tests. */
declare const __SERVICE_WORKER__: boolean;
