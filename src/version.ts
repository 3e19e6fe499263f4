export const VERSION = '0.1.0';
export const TOOL = { name: 'ftpscope', version: VERSION } as const;
