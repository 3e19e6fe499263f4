/**
 * The dashboard's state machine: keys and mouse in, a screen of rows out (through Terminal).
 * It holds selection (pinned to items), focus, filters and live state; the views under views/
 * turn the Analysis into pane models and never touch the terminal.
 */
import type { Dissection } from '../dissect/field.js';
import type { Analysis, DataConnection, Session } from '../model/types.js';
import type { FtpRole, PacketFact } from '../model/packet-facts.js';
import type { TcpFacts } from '../model/tcp-facts.js';
import type { LadderLine } from '../report/ladder.js';
import { actionFor, type Action } from './keymap.js';
import { DisplayFilter, FilterSyntaxError } from '../report/filter/index.js';
import { bodyRect, sessionLayout, tooSmall, MIN_COLS, MIN_ROWS, PANE_ORDER, type SessionPane } from './layout.js';
import { bodyHeight, findMatch, renderPane, type PaneModel, type Rect } from './pane.js';
import type { KeyEvent, MouseEvent, Row, Terminal } from './terminal.js';
import { fit } from './text.js';
import { VList } from './vlist.js';
import { FindingList, findingsListed, findingsPane } from './views/findings.js';
import type { Finding } from '../model/findings.js';
import { flowPane, ladderFor } from './views/flow.js';
import { handshakePane } from './views/handshake.js';
import { helpPane } from './views/help.js';
import { bytesPerRow, hexPane, type Highlight } from './views/hex.js';
import { layersPane, parentKey, visibleLayerRows, type LayerRow } from './views/layers.js';
import { detailStatus, PacketDetails, type Detail } from './details.js';
import { isFlagged, packetsPane } from './views/packets.js';
import { columnOfFrame, connectionPackets, graphsOf, graphsPane, type GraphState } from './views/graphs.js';
import {
  SESSION_MEASURES, warmSearch, sessionHeader, sessionRowText, sessionMatches, SORT_COLUMNS, type SessionRow, type SortOrder,
} from './views/sessions.js';
import { SessionIndex, type SessionRowList } from './views/session-index.js';
import { freezeAnalysis, signature } from './live-model.js';
import { statusBar, titleBar, type ScreenName } from './chrome.js';
import { exportDoneMessage, exportPromptLine, type DashboardExports, type ExportPrompt } from './exports.js';
import type { ExportKind } from '../report/export.js';
import { isFtpscopeError } from '../errors.js';

export type Screen = ScreenName;
type PaneId = 'sessions' | SessionPane | 'handshake' | 'findings' | 'help' | 'graphs';

export interface DashboardSource {
  title: string;
  /** Live sources update; a file's analysis is final. */
  live: boolean;
  showPasswords?: boolean;
  /** While a file is still being read: what to show in the title ("reading 45% …"); null once done. */
  status?: () => string | null;
  snapshot(): Analysis;
  /** Live sources: what the empty sessions list says it waits for ("waiting for the first FTP session on :2121"). */
  waiting?: string;
  /**
   * Live sources: something going wrong as it happens (packets dropped by the kernel or left
   * out of a recording), shown in the status line until a key's message replaces it; null when all is well.
   */
  notice?: () => string | null;
  /** Full dissection of one packet, re-read by its offset; absent when packets cannot be re-read. */
  loadPacket?: (fact: PacketFact) => Promise<Dissection>;
  /** Saving sessions, transfers, ladders and JSON to files; absent for live sources. */
  exports?: DashboardExports;
}


export class Dashboard {
  screen: Screen = 'sessions';
  private stack: Screen[] = [];
  /** The finding `?` was pressed on (the help screen explains it first). */
  private helpFinding: Finding | null = null;
  focus: SessionPane = 'flow';
  /** The list pane Esc returns to from layers or hex. */
  private listPane: 'flow' | 'packets' = 'flow';
  readonly lists: Record<PaneId, VList> = {
    sessions: new VList(), flow: new VList(), packets: new VList(), layers: new VList(), hex: new VList(),
    handshake: new VList(), findings: new VList(), help: new VList(), graphs: new VList(),
  };
  /** The data connection the graphs view draws, its packets and the cursor. */
  private graph: GraphState | null = null;
  filter = '';
  private search: Partial<Record<PaneId, string>> = {};
  sort: SortOrder = { column: 'start', reverse: false };
  prompt: { pane: PaneId; text: string } | null = null;
  /** The path prompt of an export key, while it is open (see exports.ts). */
  exportPrompt: ExportPrompt | null = null;
  message = '';
  /** Settles when the export in progress (if any) has finished; tests wait on it. */
  exporting: Promise<void> = Promise.resolve();
  /** Selected packet (frame) of the open session. */
  frame: number | null = null;
  private handshakeOf: { tcp: TcpFacts | null; what: string; opener: FtpRole | null } = { tcp: null, what: 'no connection', opener: null };

  private analysis: Analysis;
  private version = 0;
  paused = false;
  private pausedAt = 0;
  private latestPackets = 0;
  private signature = '';
  private readonly details: PacketDetails;
  /** Closed nodes of the layers tree, kept from packet to packet as Wireshark does. */
  private readonly collapsed = new Set<string>();
  private hits: Array<{ pane: PaneId; rect: Rect; model: PaneModel }> = [];
  private quitting = false;
  private onQuit: () => void = () => {};
  private onFail: (e: unknown) => void = () => {};
  readonly done: Promise<void>;

  // caches, keyed by what they depend on
  private sessionIndex: { version: number; index: SessionIndex } | null = null;
  private warming = false;
  /** Sessions [0, warmedTo) have their search text ready (as of the last change). */
  private warmedTo = 0;
  private packetsCache: { key: string; model: PaneModel } | null = null;
  private ladderCache: { key: string; lines: LadderLine[] } | null = null;
  private findingsCache: { version: number; list: FindingList } | null = null;

  constructor(private readonly term: Terminal, private readonly source: DashboardSource) {
    this.details = new PacketDetails(source.loadPacket);
    this.analysis = source.snapshot();
    this.latestPackets = this.analysis.source.packets;
    this.lists.sessions.follow = source.live;
    this.done = new Promise((resolve, reject) => { this.onQuit = resolve; this.onFail = reject; });
    term.onKey((k) => this.guard(() => this.key(k)));
    term.onMouse((m) => this.guard(() => this.mouse(m)));
    term.onResize(() => this.guard(() => this.render()));
    this.scheduleWarm();
  }

  // ---- data ---------------------------------------------------------------------------

  /** Live sources: take a new snapshot; returns true when something changed. */
  refresh(): boolean {
    this.scheduleWarm(); // runs after this refresh; a file that just finished loading starts here
    const a = this.source.snapshot();
    // New packets are a change (the signature starts with their count): the fingerprint of the
    // whole model is taken only when the count stands still (a proxy's sessions, a quiet capture).
    const packetsMoved = a.source.packets !== this.latestPackets;
    const sig = packetsMoved ? '' : signature(a);
    const changed = packetsMoved || sig !== this.signature;
    this.signature = sig;
    this.latestPackets = a.source.packets;
    if (this.paused) return changed; // only the pending count changed on screen
    if (!changed && a === this.analysis) return false;
    this.analysis = a;
    if (changed) {
      this.version++;
      this.warmedTo = 0;
    }
    return changed;
  }

  private index(): SessionIndex {
    const c = this.sessionIndex;
    if (c?.version === this.version && c.index.analysis === this.analysis) return c.index;
    const index = new SessionIndex(this.analysis, SESSION_MEASURES);
    this.sessionIndex = { version: this.version, index };
    return index;
  }

  private sessionRows(): SessionRowList {
    return this.index().rows(this.filter, this.sort);
  }

  /**
   * Idle work in small slices between events: the search text of every session, then every
   * sort order, then the findings list, so the first filter, sort or findings key does not pay
   * for 10k sessions at once (live sources: the search text only, kept per session).
   * A file still being read waits: its sessions are still growing.
   */
  private scheduleWarm(): void {
    if (this.warming || this.quitting || this.source.status?.()) return;
    this.warming = true;
    setImmediate(() => this.guard(() => {
      this.warming = false;
      if (this.quitting) return;
      const sessions = this.analysis.sessions;
      if (this.warmedTo < sessions.length) this.warmedTo = warmSearch(sessions, this.warmedTo, 4);
      // live models change every refresh: orders made ahead would be thrown away unused
      else if (this.source.live || (!this.index().warmStep() && this.findingRows().collect(4))) return;
      this.scheduleWarm();
    }));
  }

  private selectedRow(): SessionRow | null {
    const rows = this.sessionRows();
    const i = this.lists.sessions.sync(this.sessionsModel(rows, 80).source);
    return i >= 0 ? rows.at(i) : null;
  }

  session(): Session | null {
    const r = this.selectedRow();
    return r && r.kind !== 'unpaired' ? r.session : null;
  }

  private ladder(session: Session | null, width: number): LadderLine[] {
    if (!session) return [];
    const key = `${session.id}|${width}|${this.version}|${session.commands.length}|${session.dataConnections.length}|${session.closed}`;
    if (this.ladderCache?.key !== key) this.ladderCache = { key, lines: ladderFor(session, width, !!this.source.showPasswords) };
    return this.ladderCache.lines;
  }

  /**
   * For the title bar: the findings view's count. A finished file counts them all at once (the
   * idle warm-up would soon). A file being read or a live source changes at every refresh: its
   * count is the number of findings the view would list (the capture's and every session's),
   * added up without building and sorting the list, which every new model would throw away.
   */
  private findingsCount(): number | null {
    if (this.source.live || this.source.status?.()) return findingsListed(this.analysis);
    const list = this.findingRows();
    return list.collect() ? list.count : null;
  }

  private findingRows(): FindingList {
    if (this.findingsCache?.version !== this.version) this.findingsCache = { version: this.version, list: new FindingList(this.analysis) };
    return this.findingsCache.list;
  }

  private packetRef(session: Session | null, frame: number | null): PacketFact | null {
    const list = session?.packets;
    if (!list || frame === null) return null;
    const i = list.indexOfFrame(frame);
    return i >= 0 ? list.at(i) : null;
  }

  private detail(): Detail | null {
    return this.details.get(this.frame);
  }

  private requestDetail(): void {
    const session = this.session();
    const frame = this.frame;
    if (frame === null || !session) return;
    this.details.request(frame, this.packetRef(session, frame), (latest) => {
      if (!latest && this.frame !== frame) return;
      this.lists.layers = new VList();
      this.guard(() => this.render());
    });
  }

  /** Resolves when every requested dissection has settled (tests, benchmark). */
  idle(): Promise<void> {
    return this.details.idle();
  }

  // ---- pane models --------------------------------------------------------------------

  private sessionsModel(rows: SessionRowList, width: number): PaneModel {
    const a = this.analysis;
    const label = `Sessions (${a.sessions.length}${this.filter ? `, ${rows.sessionCount} match /${this.filter}` : ''})`;
    return {
      title: `${label}  sort: ${this.sort.column}${this.sort.reverse ? ' ↓' : ' ↑'}`,
      header: sessionHeader(width - 2),
      source: { count: rows.count, keyAt: (i) => rows.keyAt(i), indexOf: (k) => rows.indexOf(String(k)) },
      row: (i, w) => sessionRowText(rows.at(i), w),
      empty: this.filter ? `no session matches /${this.filter} (Esc clears the filter)`
        : this.source.live ? this.source.waiting ?? 'waiting for the first FTP session'
          : 'no FTP sessions found; if FTP runs on a port other than 21 and was not recognised, try --ftp-port N',
      matches: (i, needle) => {
        const r = rows.at(i);
        return r.kind === 'unpaired' ? false : sessionMatches(r.session, needle);
      },
    };
  }

  private packetsModel(session: Session | null): PaneModel {
    const key = `${session?.id}|${this.version}|${session?.packets?.count}|${session?.packets?.dropped}|${session?.commands.length}`;
    if (this.packetsCache?.key !== key) this.packetsCache = { key, model: packetsPane(session, !!this.source.showPasswords, this.analysis.source.start) };
    return this.packetsCache.model;
  }

  private layerRows(): LayerRow[] {
    return visibleLayerRows(this.detail()?.rows ?? [], this.collapsed);
  }

  private highlight(): Highlight {
    const det = this.detail();
    const rows = this.layerRows();
    if (!det?.d || rows.length === 0) return { layer: null, field: null, layerIndex: null };
    const i = Math.min(this.lists.layers.index, rows.length - 1);
    const r = rows[i];
    const layer = det.d.layers[r.layer];
    return {
      layer: layer && layer.name !== 'frame' ? { offset: layer.offset, length: layer.length } : null,
      field: r.field && r.length > 0 ? { offset: r.offset, length: r.length } : null,
      layerIndex: r.layer,
    };
  }

  private model(pane: PaneId, width: number): PaneModel {
    const session = this.session();
    switch (pane) {
      case 'sessions': return this.sessionsModel(this.sessionRows(), width);
      case 'flow': return flowPane(session, this.ladder(session, width - 2));
      case 'packets': return this.packetsModel(session);
      case 'layers': {
        const det = this.detail();
        return layersPane(det?.d ?? null, this.layerRows(), detailStatus(this.frame, det), this.collapsed);
      }
      case 'hex': {
        const det = this.detail();
        return { ...hexPane(det?.d ?? null, this.highlight(), width, detailStatus(this.frame, det)), textOnly: true };
      }
      case 'handshake': return handshakePane(this.handshakeOf.tcp, this.handshakeOf.what, width, this.handshakeOf.opener);
      case 'findings': return findingsPane(this.findingRows());
      case 'help': return helpPane(this.helpFinding);
      case 'graphs': return graphsPane(this.graph, width, this.graphHeight());
    }
  }

  /** Rows the graphs get: the body less the pane title. */
  private graphHeight(): number {
    return Math.max(8, this.term.rows - 3);
  }

  // ---- rendering ----------------------------------------------------------------------

  render(): void {
    if (this.quitting) return;
    const cols = this.term.cols;
    const rows = this.term.rows;
    this.hits = [];
    if (tooSmall(cols, rows)) {
      const out: Row[] = [];
      for (let y = 0; y < rows; y++) out.push([{ text: fit(y === 0 ? `Terminal too small (${cols}×${rows}); ftpscope needs at least ${MIN_COLS}×${MIN_ROWS}. Enlarge it, or press q.` : '', cols) }]);
      this.term.draw(out);
      return;
    }
    const body = bodyRect(cols, rows);
    const canvas: Row[] = Array.from({ length: body.height }, () => []);
    const place = (pane: PaneId, rect: Rect, focused: boolean, info = ''): void => {
      const model = this.model(pane, rect.width);
      this.hits.push({ pane, rect, model });
      // the session screen shows several panes: the focused one is marked in its title
      const drawn = renderPane(model, this.lists[pane], rect, focused, info, this.screen === 'session');
      drawn.forEach((r, i) => canvas[rect.y - body.y + i].push(...r));
    };
    switch (this.screen) {
      case 'sessions': place('sessions', body, true, this.liveInfo('sessions')); break;
      case 'session': {
        const layout = sessionLayout(body, this.focus);
        if (layout.divider === null) {
          for (const p of layout.panes) place(p.pane, p.rect, p.pane === this.focus, this.liveInfo(p.pane));
        } else {
          // left column first, then the divider, then the right column, row by row
          for (const p of layout.panes.filter((q) => q.rect.x === body.x)) place(p.pane, p.rect, p.pane === this.focus, this.liveInfo(p.pane));
          canvas.forEach((r) => r.push({ text: '│', style: 'dim' }));
          for (const p of layout.panes.filter((q) => q.rect.x !== body.x)) place(p.pane, p.rect, p.pane === this.focus);
        }
        break;
      }
      default: place(this.screen, body, true);
    }
    this.term.draw([
      titleBar(cols, {
        title: this.source.title, analysis: this.analysis, status: this.source.status?.() ?? null,
        live: this.source.live, paused: this.paused, pending: Math.max(0, this.latestPackets - this.pausedAt),
        findings: this.findingsCount(),
      }),
      ...canvas,
      this.exportPrompt
        ? [{ text: fit(exportPromptLine(this.exportPrompt), cols), style: 'bar' }]
        : statusBar(cols, this.screen, this.prompt && { filter: this.prompt.pane === 'sessions', text: this.prompt.text }, this.message,
          this.source.notice?.() ?? null),
    ]);
  }

  private liveInfo(pane: PaneId): string {
    if (!this.source.live || (pane !== 'sessions' && pane !== 'packets')) return '';
    return this.lists[pane].follow ? '[following]' : '';
  }

  // ---- input --------------------------------------------------------------------------

  private currentPane(): PaneId {
    return this.screen === 'session' ? this.focus : this.screen;
  }

  key(k: KeyEvent): void {
    if (this.quitting) return;
    if (this.exportPrompt) {
      this.exportKey(k);
      this.render();
      return;
    }
    this.message = '';
    if (this.prompt) {
      this.promptKey(k);
      this.render();
      return;
    }
    const action = actionFor(k.name);
    if (action) this.act(action);
    this.render();
  }

  private promptKey(k: KeyEvent): void {
    const p = this.prompt!;
    if (k.name === 'enter') {
      this.prompt = null;
      this.applySearch(p.pane, p.text);
    } else if (k.name === 'escape') {
      this.prompt = null;
    } else if (k.name === 'C-c') {
      this.quit();
    } else if (k.name === 'backspace') {
      p.text = p.text.slice(0, -1);
    } else if (k.name === 'C-u') {
      p.text = ''; // as in a shell: clear the line
    } else if (k.ch && k.ch.length === 1 && k.ch >= ' ' && p.text.length < 200) {
      p.text += k.ch;
    }
  }

  private applySearch(pane: PaneId, text: string): void {
    if (pane === 'sessions') {
      this.filter = text;
      // Text that looks like a display filter but does not parse is searched for as text: say why.
      if (/[=<>!]=?|\b(eq|ne|contains|matches)\b|^[a-z-]+\.[a-z_.-]+$/i.test(text)) {
        try {
          DisplayFilter.parse(text);
        } catch (e) {
          if (e instanceof FilterSyntaxError) this.message = `not a display filter (${e.reason} at column ${e.column + 1}): searching for the text`;
        }
      }
      return;
    }
    this.search[pane] = text;
    if (text) this.jump(pane, 1, true);
  }

  private jump(pane: PaneId, dir: 1 | -1, fromCurrent = false): void {
    const needle = pane === 'sessions' ? (this.search.sessions ?? this.filter) : this.search[pane];
    if (!needle) { this.message = 'no search yet: press / first'; return; }
    const hit = this.hits.find((h) => h.pane === pane);
    const model = hit?.model ?? this.model(pane, this.term.cols);
    const list = this.lists[pane];
    const start = fromCurrent ? list.index - dir : list.index;
    const i = findMatch(model, start, needle, dir);
    if (i < 0) { this.message = `no match for "${needle}"`; return; }
    list.follow = false;
    list.moveTo(model.source, i);
    this.afterMove(pane, model);
  }

  act(action: Action): void {
    const pane = this.currentPane();
    switch (action) {
      case 'quit': this.quit(); return;
      case 'help':
        // `?` on a finding explains it first (meaning, fix, the doc section), then the keys.
        this.helpFinding = pane === 'findings' && this.findingRows().count > 0
          ? this.findingRows().at(Math.min(this.lists.findings.index, this.findingRows().count - 1)).finding
          : null;
        this.lists.help = new VList();
        this.goto('help');
        return;
      case 'up': return this.move(pane, -1);
      case 'down': return this.move(pane, 1);
      case 'pageUp': return this.move(pane, -this.pageSize(pane));
      case 'pageDown': return this.move(pane, this.pageSize(pane));
      case 'top': return this.move(pane, -Infinity);
      case 'bottom':
        this.move(pane, Infinity);
        if (this.source.live && (pane === 'sessions' || pane === 'packets')) this.lists[pane].follow = true;
        return;
      case 'scrollLeft':
        if (pane === 'graphs') return this.moveCursor(-1);
        if (pane === 'layers' && this.foldLayer(false)) return;
        this.lists[pane].hscroll = Math.max(0, this.lists[pane].hscroll - 8);
        return;
      case 'scrollRight':
        if (pane === 'graphs') return this.moveCursor(1);
        if (pane === 'layers' && this.foldLayer(true)) return;
        this.lists[pane].hscroll = Math.min(400, this.lists[pane].hscroll + 8);
        return;
      case 'nextPane': return this.cycle(1);
      case 'prevPane': return this.cycle(-1);
      case 'enter': return this.enter(pane);
      case 'back': return this.back();
      case 'search':
        // a new search starts empty (Esc keeps the current one; the pane title shows a filter)
        if (pane === 'help') return;
        this.prompt = { pane, text: '' };
        return;
      case 'nextMatch': return this.jump(pane, 1);
      case 'prevMatch': return this.jump(pane, -1);
      case 'sort': {
        const i = SORT_COLUMNS.indexOf(this.sort.column);
        this.sort = { column: SORT_COLUMNS[(i + 1) % SORT_COLUMNS.length], reverse: this.sort.reverse };
        this.message = `sorted by ${this.sort.column}`;
        return;
      }
      case 'reverseSort': this.sort = { ...this.sort, reverse: !this.sort.reverse }; return;
      case 'follow': {
        const p = pane === 'packets' ? 'packets' : 'sessions';
        if (!this.source.live) { this.message = 'follow applies to live sources'; return; }
        this.lists[p].follow = !this.lists[p].follow;
        return;
      }
      case 'pause':
        if (!this.source.live) { this.message = 'pause applies to live sources'; return; }
        this.paused = !this.paused;
        if (this.paused) {
          this.analysis = freezeAnalysis(this.analysis);
          this.pausedAt = this.analysis.source.packets;
          this.version++;
        } else this.refresh();
        return;
      case 'viewSessions': this.stack = []; this.screen = 'sessions'; return;
      case 'viewFlow': return this.openSession('flow');
      case 'viewPackets': return this.openSession('packets');
      case 'viewLayers': return this.openSession('layers');
      case 'viewHex': return this.openSession('hex');
      case 'viewHandshake': return this.openHandshake();
      case 'viewFindings': this.goto('findings'); return;
      case 'viewGraphs': return this.openGraphs();
      case 'nextFlagged': return this.jumpFlagged(1);
      case 'prevFlagged': return this.jumpFlagged(-1);
      case 'exportPcapng': return this.startExport('pcapng');
      case 'exportTransfer': return this.startExport('transfer');
      case 'exportLadder': return this.startExport('ladder');
      case 'exportJson': return this.startExport('json');
    }
  }

  // ---- graphs and flagged packets -------------------------------------------------------

  /** The graphs of the selected packet's data connection, else the selected data row's, else the session's biggest transfer. */
  private openGraphs(): void {
    const row = this.selectedRow();
    const session = this.session();
    if (!session || !row || row.kind === 'unpaired') { this.message = 'select a session with a data connection first'; return; }
    const fact = this.frame !== null ? this.packetRef(session, this.frame) : null;
    let dc: DataConnection | undefined;
    if (this.screen === 'session' && fact?.channel === 'data') dc = session.dataConnections.find((d) => d.id === fact.dataConnection);
    if (!dc && row.kind === 'data') dc = row.dc;
    if (!dc) dc = [...session.dataConnections].sort((x, y) => y.bytes - x.bytes)[0];
    if (!dc) { this.message = `session ${session.id} has no data connection to graph`; return; }
    const packets = connectionPackets(session, dc);
    if (packets.length === 0) { this.message = `no packets kept for data connection D${dc.id}`; return; }
    this.graph = { session, dc, packets, cursor: 0, frame: null };
    const col = this.frame !== null ? columnOfFrame(graphsOf(this.graph, this.term.cols, this.graphHeight()), this.frame) : null;
    this.graph.cursor = col ?? 0;
    if (col !== null) this.graph.frame = this.frame;
    this.lists.graphs = new VList();
    this.goto('graphs');
    if (col === null) this.selectGraphPacket();
  }

  /** The graph cursor moved: select the packet nearest it, everywhere. */
  private selectGraphPacket(): void {
    const g = this.graph;
    if (!g) return;
    const graphs = graphsOf(g, this.term.cols, this.graphHeight());
    g.cursor = Math.max(0, Math.min(graphs.nearest.length - 1, g.cursor));
    const i = graphs.nearest[g.cursor] ?? -1;
    if (i >= 0) {
      g.frame = g.packets[i]!.frame;
      this.selectFrame(g.frame, 'other');
    }
  }

  private moveCursor(delta: number): void {
    if (!this.graph) return;
    this.graph.cursor += delta;
    this.selectGraphPacket();
  }

  /** a / A: the next (previous) packet with a TCP analysis flag, in the packets pane or on the graph. */
  private jumpFlagged(dir: 1 | -1): void {
    if (this.screen === 'graphs' && this.graph) {
      const g = this.graph;
      const graphs = graphsOf(g, this.term.cols, this.graphHeight());
      const cur = this.frame !== null ? g.packets.findIndex((p) => p.frame === this.frame) : -1;
      for (let k = cur + dir; k >= 0 && k < g.packets.length; k += dir) {
        if (!isFlagged(g.packets[k]!)) continue;
        g.cursor = graphs.columns[k]!;
        g.frame = g.packets[k]!.frame;
        this.selectFrame(g.frame, 'other');
        return;
      }
      this.message = `no ${dir > 0 ? 'later' : 'earlier'} flagged packet in D${g.dc.id}`;
      return;
    }
    const session = this.session();
    const list = session?.packets;
    if (this.screen !== 'session' || !session || !list) { this.message = 'open a session first (a / A walk its flagged packets)'; return; }
    const cur = this.frame !== null ? list.indexOfFrame(this.frame) : -1;
    for (let i = cur + dir; i >= 0 && i < list.count; i += dir) {
      if (!isFlagged(list.at(i))) continue;
      this.setFocus('packets');
      this.selectFrame(list.at(i).frame, 'other');
      return;
    }
    this.message = `no ${dir > 0 ? 'later' : 'earlier'} packet with a TCP analysis flag`;
  }

  // ---- exports ------------------------------------------------------------------------

  /** An export key: find what it saves, then ask for the path (with a default filled in). */
  private startExport(kind: ExportKind): void {
    const exports = this.source.exports;
    if (!exports) { this.message = 'exports need a capture file (live sources: write one with -w or --record, then open it)'; return; }
    if (this.source.status?.()) { this.message = 'the capture is still being read: export once it is complete'; return; }
    const row = this.selectedRow();
    const session = this.session();
    if (!session || !row) { this.message = 'select a session first (unpaired data connections belong to none)'; return; }
    let dc: DataConnection | null = null;
    if (kind === 'transfer') {
      dc = this.selectedTransfer(session, row);
      if (!dc) {
        this.message = session.dataConnections.length === 0
          ? `session ${session.id} has no data connection to save`
          : 'select a transfer: its D row in the sessions list, or one of its packets in the flow or packets pane';
        return;
      }
    }
    this.exportPrompt = { kind, session, dc, text: exports.defaultPath(kind, session, dc), stage: 'path' };
  }

  /** The data connection the selection points at: a D row, the selected packet's connection, or the only one. */
  private selectedTransfer(session: Session, row: SessionRow): DataConnection | null {
    if (this.screen === 'sessions' && row.kind === 'data') return row.dc;
    if (this.screen === 'session' && this.frame !== null) {
      const fact = this.packetRef(session, this.frame);
      if (fact?.channel === 'data' && fact.session === session.id) {
        const dc = session.dataConnections.find((d) => d.id === fact.dataConnection);
        if (dc) return dc;
      }
    }
    if (row.kind === 'data') return row.dc;
    return session.dataConnections.length === 1 ? session.dataConnections[0]! : null;
  }

  private exportKey(k: KeyEvent): void {
    const p = this.exportPrompt!;
    if (k.name === 'C-c') { this.quit(); return; }
    if (p.stage === 'busy') return; // keys wait until the file is written
    if (p.stage === 'confirm') {
      if (k.ch === 'y' || k.ch === 'Y') this.runExport(p, true);
      // anything else keeps the file: back to the path, to choose another name
      else p.stage = 'path';
      return;
    }
    if (k.name === 'enter') {
      const file = p.text.trim();
      if (!file) { this.exportPrompt = null; this.message = 'export cancelled: no path given'; return; }
      p.text = file;
      if (this.source.exports!.exists(file)) { p.stage = 'confirm'; return; }
      this.runExport(p, false);
    } else if (k.name === 'escape') {
      this.exportPrompt = null;
      this.message = 'export cancelled';
    } else if (k.name === 'backspace') {
      p.text = p.text.slice(0, -1);
    } else if (k.name === 'C-u') {
      p.text = '';
    } else if (k.ch && k.ch.length === 1 && k.ch >= ' ' && p.text.length < 1024) {
      p.text += k.ch;
    }
  }

  private runExport(p: ExportPrompt, overwrite: boolean): void {
    p.stage = 'busy';
    this.exporting = this.source.exports!.run(p.kind, p.session, p.dc, p.text, overwrite).then(
      (r) => { this.message = exportDoneMessage(r); },
      (e: unknown) => {
        if (!isFtpscopeError(e)) throw e;
        this.message = `not saved: ${e.describe()}`;
      },
    ).then(() => {
      this.exportPrompt = null;
      this.guard(() => this.render());
    }, (e: unknown) => this.fail(e));
  }

  /** Tree keys in the layers pane: open or close the selected node, or step out to its parent. */
  private foldLayer(open: boolean): boolean {
    const rows = this.layerRows();
    const r = rows[this.lists.layers.index];
    if (!r) return false;
    if (r.hasChildren && open === this.collapsed.has(r.key)) {
      if (open) this.collapsed.delete(r.key);
      else this.collapsed.add(r.key);
      if (this.collapsed.size > 1000) this.collapsed.clear();
      return true;
    }
    if (!open) {
      const parent = parentKey(r.key);
      if (parent !== null) {
        this.lists.layers.select(this.model('layers', this.term.cols).source, parent);
        this.afterMove('layers', this.model('layers', this.term.cols));
        return true;
      }
    }
    return false;
  }

  private pageSize(pane: PaneId): number {
    const hit = this.hits.find((h) => h.pane === pane);
    return hit ? Math.max(1, bodyHeight(hit.model, hit.rect) - 1) : 10;
  }

  private move(pane: PaneId, delta: number): void {
    const hit = this.hits.find((h) => h.pane === pane);
    const model = hit?.model ?? this.model(pane, this.term.cols);
    const list = this.lists[pane];
    list.follow = false;
    list.sync(model.source);
    const target = delta === Infinity ? model.source.count - 1 : delta === -Infinity ? 0 : list.index + delta;
    list.moveTo(model.source, target);
    this.afterMove(pane, model);
  }

  /** Keep flow, packets, layers and hex in step with the selection that just moved. */
  private afterMove(pane: PaneId, model: PaneModel): void {
    const list = this.lists[pane];
    if (pane === 'sessions') {
      this.frame = null;
      for (const p of ['flow', 'packets', 'layers', 'hex'] as const) { this.lists[p] = new VList(); }
      return;
    }
    if (pane === 'flow') {
      const lines = this.ladder(this.session(), (this.hits.find((h) => h.pane === 'flow')?.rect.width ?? this.term.cols) - 2);
      const line = lines[list.index];
      if (line?.frame != null) this.selectFrame(line.frame, 'flow');
      return;
    }
    if (pane === 'packets') {
      const key = model.source.count ? model.source.keyAt(list.index) : null;
      if (typeof key === 'number') this.selectFrame(key, 'packets');
      return;
    }
    if (pane === 'layers') {
      const hl = this.highlight();
      const hexHit = this.hits.find((h) => h.pane === 'hex');
      const per = bytesPerRow(hexHit?.rect.width ?? this.term.cols);
      const target = hl.field ?? hl.layer;
      if (target) this.lists.hex.index = Math.max(0, Math.floor(target.offset / per) - 1);
    }
  }

  /** Select a packet everywhere it appears. */
  private selectFrame(frame: number, from: 'flow' | 'packets' | 'other'): void {
    const session = this.session();
    this.frame = frame;
    if (from !== 'packets') this.lists.packets.select(this.packetsModel(session).source, frame);
    if (from !== 'flow') {
      const lines = this.ladder(session, (this.hits.find((h) => h.pane === 'flow')?.rect.width ?? this.term.cols) - 2);
      const i = lines.findIndex((l) => l.frame === frame);
      if (i >= 0) this.lists.flow.moveTo(flowPane(session, lines).source, i);
    }
    this.lists.layers = new VList();
    this.lists.hex = new VList();
    this.requestDetail();
  }

  /** Tab / Shift-Tab: the next pane in PANE_ORDER; the layout follows the focus alone, so N presses come back. */
  private cycle(dir: 1 | -1): void {
    if (this.screen !== 'session') return;
    const n = PANE_ORDER.length;
    this.setFocus(PANE_ORDER[(PANE_ORDER.indexOf(this.focus) + dir + n) % n]);
  }

  private setFocus(p: SessionPane): void {
    this.focus = p;
    if (p === 'flow' || p === 'packets') this.listPane = p;
  }

  private goto(screen: Screen): void {
    if (this.screen === screen) return;
    this.stack.push(this.screen);
    if (this.stack.length > 20) this.stack.shift();
    this.screen = screen;
  }

  private openSession(focus: SessionPane): void {
    const session = this.session();
    if (!session) { this.message = 'select a session first (unpaired data connections have no session view)'; return; }
    if (this.screen !== 'session') {
      this.goto('session');
      // the selection may have moved to another session meanwhile (live follow, a jump)
      if (this.frame !== null && !this.packetRef(session, this.frame)) {
        this.frame = null;
        for (const p of ['flow', 'packets', 'layers', 'hex'] as const) this.lists[p] = new VList();
      }
      if (this.frame === null && session.packets && session.packets.count > 0) this.selectFrame(session.packets.at(0).frame, 'other');
    }
    this.setFocus(focus);
  }

  private enter(pane: PaneId): void {
    switch (pane) {
      case 'sessions': {
        const row = this.selectedRow();
        if (!row) return;
        if (row.kind === 'unpaired') { this.handshakeForDc(row.dc, `unpaired data connection ${row.dc.id}`); this.goto('handshake'); return; }
        // a data connection opens at its packets when they were kept (captures), else in the flow (proxy)
        this.openSession(row.kind === 'data' && row.session.packets ? 'packets' : 'flow');
        if (row.kind === 'data') {
          const first = row.dc.tcp ? (row.dc.tcp.handshake.synFrame ?? row.dc.tcp.firstFrame) : null;
          if (first !== null && row.session.packets && row.session.packets.indexOfFrame(first) >= 0) this.selectFrame(first, 'other');
        }
        return;
      }
      case 'flow': {
        const lines = this.ladder(this.session(), (this.hits.find((h) => h.pane === 'flow')?.rect.width ?? this.term.cols) - 2);
        const line = lines[this.lists.flow.index];
        if (line?.frame != null) { this.selectFrame(line.frame, 'flow'); this.setFocus('layers'); }
        return;
      }
      case 'packets': this.setFocus('layers'); return;
      case 'layers': this.setFocus('hex'); return;
      case 'graphs': {
        // the selected packet, in the packets list of its session
        if (this.frame === null) return;
        this.screen = 'session';
        this.stack = this.stack.filter((x) => x !== 'graphs');
        this.setFocus('packets');
        this.selectFrame(this.frame, 'other');
        return;
      }
      case 'findings': {
        const list = this.findingRows();
        if (this.lists.findings.index >= list.count) return;
        const r = list.at(this.lists.findings.index);
        if (r.finding.frame === null) { this.message = 'this finding has no frame'; return; }
        this.jumpToFrame(r.finding.frame, r.session);
        return;
      }
      default:
    }
  }

  /** Open the session that holds `frame` and select that packet. */
  jumpToFrame(frame: number, hint: Session | null): void {
    const session = hint ?? this.analysis.sessions.find((s) => (s.packets?.indexOfFrame(frame) ?? -1) >= 0) ?? null;
    if (!session) { this.message = `frame ${frame} belongs to no session`; return; }
    if (this.filter && !sessionMatches(session, this.filter)) this.filter = '';
    this.lists.sessions.follow = false;
    this.lists.sessions.select(this.sessionsModel(this.sessionRows(), this.term.cols).source, `s${session.id}`);
    this.afterMove('sessions', this.model('sessions', this.term.cols));
    this.goto('session');
    const inPackets = this.packetsModel(session).source.indexOf(frame) >= 0;
    this.setFocus(inPackets ? 'packets' : 'flow');
    this.selectFrame(frame, 'other');
    if (!inPackets) this.message = `frame ${frame} is not in the kept packets; showing the flow`;
  }

  private handshakeFor(tcp: TcpFacts | null, what: string, opener: FtpRole | null): void {
    this.handshakeOf = { tcp, what, opener };
    this.lists.handshake = new VList();
  }

  private handshakeForDc(dc: DataConnection, what: string): void {
    this.handshakeFor(dc.tcp, what, dc.opener);
  }

  private openHandshake(): void {
    const row = this.selectedRow();
    const session = this.session();
    if (!row) { this.message = 'select a session first'; return; }
    if (row.kind === 'unpaired') this.handshakeForDc(row.dc, `unpaired data connection ${row.dc.id}`);
    else if (this.screen === 'session' && this.frame !== null && session) {
      const fact = this.packetRef(session, this.frame);
      const dc = fact?.channel === 'data' ? session.dataConnections.find((d) => d.id === fact.dataConnection) : undefined;
      if (dc) this.handshakeForDc(dc, `session ${session.id}, data connection D${dc.id}`);
      else this.handshakeFor(session.tcp, `session ${session.id}, control connection`, 'client');
    } else if (row.kind === 'data') this.handshakeForDc(row.dc, `session ${row.session.id}, data connection D${row.dc.id}`);
    else this.handshakeFor(row.session.tcp, `session ${row.session.id}, control connection`, 'client');
    this.goto('handshake');
  }

  private back(): void {
    if (this.screen === 'session' && (this.focus === 'layers' || this.focus === 'hex')) {
      this.setFocus(this.listPane);
      return;
    }
    const prev = this.stack.pop();
    if (prev) { this.screen = prev; return; }
    if (this.screen === 'sessions' && this.filter) { this.filter = ''; return; }
    this.screen = 'sessions';
  }

  private mouse(m: MouseEvent): void {
    const hit = this.hits.find((h) => m.x >= h.rect.x && m.x < h.rect.x + h.rect.width && m.y >= h.rect.y && m.y < h.rect.y + h.rect.height);
    if (!hit) return;
    if (this.screen === 'session' && hit.pane !== 'sessions') this.setFocus(hit.pane as SessionPane);
    if (hit.pane === 'graphs' && m.action === 'click' && this.graph) {
      // a click on the graph puts the cursor there (the graphs start after a 10-column axis)
      this.graph.cursor = m.x - hit.rect.x - 10;
      this.selectGraphPacket();
      this.render();
      return;
    }
    if (m.action === 'click') {
      const headerRows = 1 + (hit.model.header !== undefined ? 1 : 0);
      const row = m.y - hit.rect.y - headerRows;
      if (row < 0 || hit.model.textOnly) { this.render(); return; }
      const list = this.lists[hit.pane];
      const i = list.top + row;
      if (i < hit.model.source.count) {
        list.follow = false;
        list.moveTo(hit.model.source, i);
        this.afterMove(hit.pane, hit.model);
      }
    } else {
      this.move(hit.pane, m.action === 'wheelup' ? -3 : 3);
    }
    this.render();
  }

  quit(): void {
    if (this.quitting) return;
    this.quitting = true;
    this.onQuit();
  }

  /** A bug must not leave the terminal in raw mode: stop, and let the caller restore it and report. */
  fail(e: unknown): void {
    if (this.quitting) return;
    this.quitting = true;
    this.onFail(e);
  }

  guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fail(e);
    }
  }
}
