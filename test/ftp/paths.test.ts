/** Working directories relative to an unknown start, and transfer paths (issue 14, points 5 and 8). */
import { describe, expect, it } from 'vitest';
import { anchorPath, isRelativePath, parentDir, resolveFtpPath, startDirOf, transferPath } from '../../src/ftp/paths.js';

describe('paths', () => {
  it('follows CWD and CDUP relative to the start directory before any PWD', () => {
    let cwd = resolveFtpPath('.', 'pub');
    expect(cwd).toBe('./pub');
    cwd = resolveFtpPath(cwd, 'data/noaa');
    expect(cwd).toBe('./pub/data/noaa');
    expect(parentDir(cwd)).toBe('./pub/data');
    expect(parentDir('.')).toBe('..');
    expect(resolveFtpPath('..', 'x')).toBe('../x');
    expect(resolveFtpPath('./pub', '/etc')).toBe('/etc');
    expect([cwd, '.', '..', '../x'].every(isRelativePath)).toBe(true);
    expect(isRelativePath('/pub')).toBe(false);
  });

  it('finds the start directory from a 257, only when the two fit', () => {
    expect(startDirOf('./pub/data', '/srv/ftp/pub/data')).toBe('/srv/ftp');
    expect(startDirOf('./pub/data/', '/pub/data')).toBe('/');
    expect(startDirOf('.', '/home/u')).toBe('/home/u');
    expect(startDirOf('./pub/data', '/srv/ftp/public/data')).toBeNull(); // a symlink: not the same names
    expect(startDirOf('../x', '/a/x')).toBeNull(); // climbed above the start: its name is unknown
    expect(anchorPath('/srv/ftp', './pub/data/f.bin')).toBe('/srv/ftp/pub/data/f.bin');
  });

  it('strips listing options for LIST and NLST only: RETR -rf retrieves a file named -rf', () => {
    expect(transferPath('/pub', '-la', 'LIST')).toBe('/pub');
    expect(transferPath('/pub', '-la docs', 'NLST')).toBe('/pub/docs');
    expect(transferPath('/pub', '-rf', 'RETR')).toBe('/pub/-rf');
    expect(transferPath(null, '-rf', 'STOR')).toBe('-rf');
    expect(transferPath('./pub', 'f.bin', 'RETR')).toBe('./pub/f.bin');
  });
});
