/** dm-live's version, printed by --version and sent in the Server header. */
export const VERSION = "0.1.0";
