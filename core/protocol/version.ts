/** The page protocol version this build speaks. Pages send it as the envelope's `tabpool` field. */
export const PROTOCOL_VERSION = 1;

/** Every protocol version this build can answer; discovery reports it so pages can negotiate. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [PROTOCOL_VERSION];
