/**
 * uWebSockets.js loads as its native binary, and when it cannot the error
 * says which requirement is missing (a binary for this Node's ABI, a newer
 * glibc) instead of dlopen's raw text or a silent JavaScript fallback.
 */
import { describe, expect, it } from 'vitest';
import { explainLoadFailure, loadUws, noBinaryMessage } from '../../src/server/uws.ts';

const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime;

describe('uWebSockets.js loader', () => {
  it('loads the native binary for this Node', () => {
    const uws = loadUws();
    expect(Function.prototype.toString.call(uws.App)).toContain('[native code]');
  });

  it('turns a missing glibc symbol version into the glibc needed and the one present', () => {
    const dlopen = "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by /x/uws_linux_x64_127.node)";
    expect(explainLoadFailure(dlopen)).toBe(`its binary needs glibc 2.38 or newer; this system has glibc ${glibc ?? 'unknown (not a glibc system?)'}`);
    expect(explainLoadFailure('invalid ELF header\nmore')).toBe('its binary did not load: invalid ELF header');
  });

  it('names the ABIs each copy ships when none fits this Node', () => {
    const copies = [{ name: 'uWebSockets.js', version: '20.30.0-unofficial.0', binaries: new Map([['93', 'a'], ['108', 'b'], ['115', 'c']]) }];
    const message = noBinaryMessage(copies, []);
    expect(message).toContain(`no uWebSockets.js binary loads on Node ${process.versions.node} (ABI ${process.versions.modules}) on ${process.platform}-${process.arch}`);
    expect(message).toContain('uWebSockets.js@20.30.0-unofficial.0 ships ABIs 93 (Node 16), 108 (Node 18), 115 (Node 20)');
    expect(message).toContain('docs/install.md');
    expect(noBinaryMessage([], [])).toMatch(/^uWebSockets.js is not installed/);
  });

  it('reports each failed load with its reason', () => {
    const copies = [{ name: 'uwebsockets', version: '3.0.6', binaries: new Map([['127', 'x']]) }];
    expect(noBinaryMessage(copies, ['uwebsockets@3.0.6: its binary needs glibc 2.38 or newer; this system has glibc 2.36'])).toContain(
      'uwebsockets@3.0.6 ships ABIs 127 (Node 22); uwebsockets@3.0.6: its binary needs glibc 2.38 or newer',
    );
  });
});
