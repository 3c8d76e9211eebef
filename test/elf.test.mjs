// The ELF reader (dist/native.js) on its own: shared objects compiled here and
// synthesized ones of every class and byte order, then malformed ones, which
// must all be refused with a TrustloadError and never crash or hang.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ROOT } from './helpers/app.mjs';

const { bufferSource, elfIdentity, readElfObject, withElfFile } = await import(join(ROOT, 'dist', 'native.js'));

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const BASE = 0x10000;

/**
 * A minimal shared object: one PT_LOAD mapping the whole file at BASE, one
 * PT_DYNAMIC, a string table. `lie` points PT_DYNAMIC's file offset at the
 * header (the linker reads the segment through its address, so must we);
 * `entries` replaces the dynamic entries after the strings are laid out.
 */
function makeElf({ bits = 64, littleEndian = true, machine = 62, type = 3, needed = [], rpath, runpath, lie = false, entries } = {}) {
  const ehSize = bits === 64 ? 64 : 52;
  const phSize = bits === 64 ? 56 : 32;
  const dynSize = bits === 64 ? 16 : 8;
  const names = [...needed, ...(rpath === undefined ? [] : [rpath]), ...(runpath === undefined ? [] : [runpath])];
  const offsets = [];
  let strings = '\0';
  for (const name of names) {
    offsets.push(strings.length);
    strings += `${name}\0`;
  }
  const strOff = ehSize + 2 * phSize;
  const dynOff = strOff + strings.length + ((8 - ((strOff + strings.length) % 8)) % 8);
  const dyn = entries?.({ strtab: BASE + strOff, strsz: strings.length, offsets }) ?? [
    ...needed.map((_, i) => [1, offsets[i]]),
    ...(rpath === undefined ? [] : [[15, offsets[needed.length]]]),
    ...(runpath === undefined ? [] : [[29, offsets[names.length - 1]]]),
    [5, BASE + strOff],
    [10, strings.length],
    [0, 0],
  ];
  const size = dynOff + dyn.length * dynSize;
  const bytes = Buffer.alloc(size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at, v) => view.setUint16(at, v, littleEndian);
  const u32 = (at, v) => view.setUint32(at, v, littleEndian);
  const word = (at, v) => (bits === 64 ? view.setBigUint64(at, BigInt(v), littleEndian) : view.setUint32(at, v, littleEndian));
  bytes.set([0x7f, 0x45, 0x4c, 0x46, bits === 64 ? 2 : 1, littleEndian ? 1 : 2, 1]);
  u16(16, type);
  u16(18, machine);
  u32(20, 1);
  word(bits === 64 ? 32 : 28, ehSize);
  u16(bits === 64 ? 52 : 40, ehSize);
  u16(bits === 64 ? 54 : 42, phSize);
  u16(bits === 64 ? 56 : 44, 2);
  const segment = (at, kind, offset, vaddr, filesz) => {
    u32(at, kind);
    if (bits === 64) {
      word(at + 8, offset);
      word(at + 16, vaddr);
      word(at + 24, vaddr);
      word(at + 32, filesz);
      word(at + 40, filesz);
    } else {
      u32(at + 4, offset);
      u32(at + 8, vaddr);
      u32(at + 12, vaddr);
      u32(at + 16, filesz);
      u32(at + 20, filesz);
    }
  };
  segment(ehSize, PT_LOAD, 0, BASE, size);
  segment(ehSize + phSize, PT_DYNAMIC, lie ? 0 : dynOff, BASE + dynOff, dyn.length * dynSize);
  bytes.write(strings, strOff, 'latin1');
  dyn.forEach(([tag, value], i) => {
    word(dynOff + i * dynSize, tag);
    word(dynOff + i * dynSize + dynSize / 2, value);
  });
  return bytes;
}

const read = (bytes) => readElfObject(bufferSource(bytes), '/x/lib.so');

/** Refused with ERR_TRUSTLOAD_UNSUPPORTED_LOAD naming the file; `reason` is part of the message. */
function assertMalformed(t, bytes, reason, what) {
  t.throws(() => read(bytes), { name: 'TrustloadError', code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', path: '/x/lib.so', ...(reason ? { message: reason } : {}) }, what);
}

t.test('every class and byte order', async (t) => {
  for (const bits of [32, 64]) {
    for (const littleEndian of [true, false]) {
      const machine = bits === 64 ? (littleEndian ? 62 : 22) : littleEndian ? 3 : 8;
      const bytes = makeElf({ bits, littleEndian, machine, needed: ['libhelper.so', 'libc.so.6'], rpath: '$ORIGIN:$ORIGIN/../lib', runpath: '/opt/x' });
      t.same(read(bytes), { bits, littleEndian, machine, needed: ['libhelper.so', 'libc.so.6'], rpath: '$ORIGIN:$ORIGIN/../lib', runpath: '/opt/x' }, `${bits}-bit ${littleEndian ? 'little' : 'big'}-endian`);
      t.same(elfIdentity(bufferSource(bytes)), { bits, littleEndian, machine }, 'its identity');
    }
  }
});

t.test('the dynamic segment is read through its address, not its file offset', async (t) => {
  t.same(read(makeElf({ needed: ['libreal.so'], lie: true })).needed, ['libreal.so']);
});

t.test('filtees (DT_AUXILIARY, DT_FILTER) are loaded too, after DT_NEEDED', async (t) => {
  const bytes = makeElf({
    needed: ['libfilter.so', 'libneeded.so', 'libaux.so'],
    entries: ({ strtab, strsz, offsets }) => [[0x7fffffff, offsets[0]], [1, offsets[1]], [0x7ffffffd, offsets[2]], [5, strtab], [10, strsz], [0, 0]],
  });
  t.same(read(bytes).needed, ['libneeded.so', 'libfilter.so', 'libaux.so']);
});

t.test('malformed objects are refused', async (t) => {
  const good = makeElf({ needed: ['libhelper.so'], rpath: '$ORIGIN' });
  assertMalformed(t, good.subarray(0, 40), /shorter than an ELF header/, 'shorter than a header');
  assertMalformed(t, Buffer.concat([Buffer.from('#!/bin/sh\n'), good.subarray(10)]), /not an ELF file/, 'not ELF');
  assertMalformed(t, makeElf({ type: 2 }), /not a shared object/, 'an executable');
  const entries = (list) => makeElf({ needed: ['a.so'], rpath: 'x', entries: ({ strtab, strsz, offsets }) => list({ strtab, strsz, offsets }) });
  assertMalformed(t, entries(({ strtab, strsz }) => [[5, strtab], [10, strsz]]), /DT_NULL/, 'no DT_NULL');
  assertMalformed(t, entries(({ strtab, strsz, offsets }) => [[15, offsets[1]], [15, offsets[1]], [5, strtab], [10, strsz], [0, 0]]), /two dynamic entries/, 'two DT_RPATH');
  assertMalformed(t, entries(({ strsz, offsets }) => [[1, offsets[0]], [5, 0x999999], [10, strsz], [0, 0]]), /no PT_LOAD segment maps/, 'DT_STRTAB nowhere');
  assertMalformed(t, entries(({ strtab, offsets }) => [[1, offsets[0]], [5, strtab], [0, 0]]), /no string table/, 'no DT_STRSZ');
  assertMalformed(t, entries(({ strtab, strsz }) => [[1, strsz + 5], [5, strtab], [10, strsz], [0, 0]]), /outside its string table/, 'a name past the table');
  assertMalformed(t, entries(({ strtab, strsz }) => [[1, 0], [5, strtab], [10, strsz], [0, 0]]), /empty name/, 'an empty name');
  const twoDynamic = Buffer.from(good);
  twoDynamic.writeUInt32LE(PT_DYNAMIC, 64); // the PT_LOAD becomes a second PT_DYNAMIC, and nothing maps the file
  assertMalformed(t, twoDynamic, /2 PT_DYNAMIC/, 'two PT_DYNAMIC');
  const manyHeaders = Buffer.from(good);
  manyHeaders.writeUInt16LE(0xffff, 56);
  assertMalformed(t, manyHeaders, /program headers/, '65535 program headers');
  const hugeOffset = Buffer.from(good);
  hugeOffset.writeBigUInt64LE(0xffffffffffffffffn, 32);
  assertMalformed(t, hugeOffset, /too large/, 'a 64-bit offset beyond what a file can have');
});

t.test('every truncation and every single-byte change is read or refused, nothing else', async (t) => {
  const good = makeElf({ needed: ['libhelper.so', 'libc.so.6'], rpath: '$ORIGIN', runpath: '/opt' });
  let refused = 0;
  const other = [];
  const attempt = (bytes) => {
    try {
      read(bytes);
    } catch (err) {
      if (err?.name === 'TrustloadError' && err.code === 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD') refused++;
      else other.push(String(err));
    }
  };
  for (let length = 0; length < good.length; length++) attempt(good.subarray(0, length));
  for (let i = 0; i < good.length; i++) {
    for (const value of [0x00, 0xff, good[i] ^ 0x80]) {
      const changed = Buffer.from(good);
      changed[i] = value;
      attempt(changed);
    }
  }
  t.same(other, [], 'no error other than a TrustloadError');
  t.ok(refused >= good.length, `every truncation refused (${refused} refusals)`);
});

t.test('compiled shared objects', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trustload-elf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.c'), 'int helper(void) { return 1; }\n');
  const cc = (args) => execFileSync('cc', args, { cwd: dir, stdio: 'pipe', timeout: 60_000 });
  try {
    cc(['--version']);
  } catch {
    t.skip('no cc on this machine');
    return;
  }
  cc(['-shared', '-fPIC', '-o', 'libhelper.so', 'a.c']);
  cc(['-shared', '-fPIC', '-o', 'rpath.so', 'a.c', '-L.', '-Wl,--no-as-needed', '-lhelper', '-Wl,-rpath,$ORIGIN/../lib:/opt/x', '-Wl,--disable-new-dtags']);
  cc(['-shared', '-fPIC', '-o', 'runpath.so', 'a.c', '-L.', '-lhelper', '-Wl,-rpath,$ORIGIN', '-Wl,--enable-new-dtags']);
  const rpath = read(readFileSync(join(dir, 'rpath.so')));
  t.ok(rpath.needed.includes('libhelper.so'), `DT_NEEDED: ${rpath.needed}`);
  t.equal(rpath.rpath, '$ORIGIN/../lib:/opt/x');
  t.equal(rpath.runpath, undefined);
  const runpath = withElfFile(join(dir, 'runpath.so'), (source) => readElfObject(source, 'runpath.so'));
  t.equal(runpath.runpath, '$ORIGIN', 'read in place through a descriptor');
  t.equal(runpath.rpath, undefined);
  const { bits, littleEndian, machine } = rpath;
  t.same(withElfFile(process.execPath, elfIdentity), { bits, littleEndian, machine }, 'the identity of the running node');
  try {
    cc(['-m32', '-shared', '-fPIC', '-nostdlib', '-o', 'lib32.so', 'a.c', '-Wl,-rpath,$ORIGIN']);
  } catch {
    t.comment('no 32-bit cc: the synthesized 32-bit objects stand in');
    return;
  }
  const lib32 = read(readFileSync(join(dir, 'lib32.so')));
  t.equal(lib32.bits, 32);
  t.equal(lib32.rpath ?? lib32.runpath, '$ORIGIN');
});

t.test('the linker model: search order of glibc and of musl', async (t) => {
  const { linkerClosure } = await import(join(ROOT, 'dist', 'native.js'));
  const identity = { bits: 64, littleEndian: true, machine: 62 };
  const object = (fields) => ({ ...identity, needed: [], ...fields });
  // The addon inherits nothing; libone (found through the addon's RPATH) has a RUNPATH of its own.
  const files = {
    '/app/a.node': object({ needed: ['libone.so'], rpath: '/p:$ORIGIN/lib' }),
    '/p/libone.so': object({ needed: ['libtwo.so'], runpath: '/q' }),
  };
  const tried = (linker) => {
    const paths = [];
    linkerClosure('/app/a.node', {
      linker,
      cwd: '/cwd',
      identity,
      executableDir: '/usr/bin',
      libraryPath: '/l:',
      insideApp: () => false,
      open: (path) => {
        paths.push(path);
        return files[path] ? { kind: 'inside', object: files[path], rule: 'plugins' } : { kind: 'absent' };
      },
    });
    return paths;
  };
  // glibc: RPATH (with $ORIGIN), LD_LIBRARY_PATH (an empty entry is the working folder), RUNPATH, never inherited.
  t.same(tried('glibc'), ['/app/a.node', '/p/libone.so', '/l/libtwo.so', '/cwd/./libtwo.so', '/q/libtwo.so']);
  // musl: LD_LIBRARY_PATH first (empty entries skipped), then each loader's path, RUNPATH or RPATH, up the chain.
  t.same(tried('musl'), ['/app/a.node', '/l/libone.so', '/p/libone.so', '/l/libtwo.so', '/q/libtwo.so', '/p/libtwo.so', '/app/lib/libtwo.so']);
});

t.test('the linker model refuses what it cannot resolve', async (t) => {
  const { linkerClosure } = await import(join(ROOT, 'dist', 'native.js'));
  const identity = { bits: 64, littleEndian: true, machine: 62 };
  const host = (files) => ({
    linker: 'glibc',
    cwd: '/cwd',
    identity,
    executableDir: '/usr/bin',
    libraryPath: undefined,
    insideApp: () => false,
    open: (path) => (files[path] ? { kind: 'inside', object: { ...identity, needed: [], ...files[path] }, rule: undefined } : { kind: 'absent' }),
  });
  t.throws(() => linkerClosure('/app/a.node', host({ '/app/a.node': { needed: ['libx.so'], rpath: '/opt/$LIB' } })), { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', message: /\$LIB/ });
  // A chain longer than the bound: each library needs the next.
  const chain = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`/app/l${i}.so`, { needed: [`/app/l${i + 1}.so`] }]));
  t.throws(() => linkerClosure('/app/l0.so', host(chain)), { code: 'ERR_TRUSTLOAD_UNSUPPORTED_LOAD', message: /more than 256 libraries/ });
  // The other ELF class is passed over, as glibc does: the search goes on to the next folder.
  const files = { '/app/a.node': { needed: ['libx.so'], rpath: '/one:/two' }, '/one/libx.so': { bits: 32 }, '/two/libx.so': {} };
  const opened = [];
  const h = host(files);
  linkerClosure('/app/a.node', { ...h, open: (path) => (opened.push(path), h.open(path)) });
  t.same(opened, ['/app/a.node', '/one/libx.so', '/two/libx.so']);
});
