/** Injection token for the parsed `AppConfig`. */
export const CONFIG = Symbol('AppConfig');
