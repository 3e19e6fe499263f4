/**
 * Named styles → terminal attributes. Colour only ever repeats what a marker or an attribute
 * already says (✓/!/✗, brackets, inverse selection), so NO_COLOR loses no meaning.
 */
export type Style =
  | 'selected'       // selected row in the focused pane
  | 'selectedIdle'   // selected row in a pane without focus
  | 'bar'            // title and status bars
  | 'paneTitle' | 'paneTitleFocused'
  | 'ok' | 'warn' | 'error'
  | 'dim' | 'client' | 'server'
  | 'field'          // bytes of the selected field in the hex view
  | 'layer'          // bytes of the selected layer in the hex view
  | 'match'          // search match
  | 'key'
  | 'flagged'        // a packet with a TCP analysis flag (its tag column says which)
  | 'graphData' | 'graphAck' | 'graphWindow' | 'graphMark' | 'graphCursor' | 'graphBar';

export interface Theme { color: boolean }

interface Attr { fg?: string; bold?: boolean; underline?: boolean; inverse?: boolean }

const STYLES: Record<Style, Attr> = {
  selected: { inverse: true },
  selectedIdle: { underline: true, bold: true },
  bar: { inverse: true },
  paneTitle: { bold: true, fg: 'blue' },
  paneTitleFocused: { bold: true, inverse: true, fg: 'blue' },
  ok: { fg: 'green' },
  warn: { fg: 'yellow', bold: true },
  error: { fg: 'red', bold: true },
  dim: { fg: 'gray' },
  client: { fg: 'cyan' },
  server: { fg: 'magenta' },
  field: { inverse: true },
  layer: { underline: true },
  match: { underline: true, fg: 'yellow' },
  key: { bold: true },
  flagged: { fg: 'yellow', bold: true },
  graphData: { fg: 'cyan' },
  graphAck: { fg: 'green' },
  graphWindow: { fg: 'yellow' },
  graphMark: { fg: 'red', bold: true },
  graphCursor: { inverse: true },
  graphBar: { fg: 'cyan' },
};

export function themeFromEnv(noColorFlag: boolean, env: NodeJS.ProcessEnv = process.env): Theme {
  // https://no-color.org: any non-empty NO_COLOR disables colour.
  return { color: !noColorFlag && !(env.NO_COLOR && env.NO_COLOR !== '') };
}

/** Opening and closing markup for a style (blessed tag syntax, produced only here and read only by terminal.ts). */
export function styleTags(theme: Theme, style: Style): [string, string] {
  const a = STYLES[style];
  const names: string[] = [];
  if (a.bold) names.push('bold');
  if (a.underline) names.push('underline');
  if (a.inverse) names.push('inverse');
  if (theme.color && a.fg) names.push(`${a.fg}-fg`);
  if (names.length === 0) return ['', ''];
  return [names.map((n) => `{${n}}`).join(''), names.reverse().map((n) => `{/${n}}`).join('')];
}
