// The product's version, shown by the server and the client and written into every backup's metadata.
export const APP_VERSION = '0.1.0';
