/**
 * The proxy source: the proxy's sockets already give stream events (it is its own TCP layer),
 * so they go straight to an analyzer; expiry runs on the events' own timestamps.
 */
import { FtpAnalyzer, type AnalyzerOptions } from '../analyzer.js';
import { ExpiryClock, EXPIRY_INTERVAL_SEC } from '../clock.js';

export interface ProxyAnalysis {
  analyzer: FtpAnalyzer;
  /** Call with the time of every stream event. */
  clock: ExpiryClock;
}

export function proxyAnalysis(opts: Omit<AnalyzerOptions, 'sourceType'>): ProxyAnalysis {
  const analyzer = new FtpAnalyzer({ ...opts, sourceType: 'proxy' });
  return { analyzer, clock: new ExpiryClock(EXPIRY_INTERVAL_SEC, (now) => analyzer.expire(now)) };
}
