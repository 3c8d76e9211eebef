import { ErrorCodes, TrustloadError } from '../errors.js';

/** Bytes of an ELF file, read where the reader asks: a verified buffer, or a descriptor for a file no rule covers. */
export interface ElfSource {
  readonly size: number;
  /** Exactly `length` bytes at `offset`; the reader checks both against `size` first. */
  read(offset: number, length: number): Uint8Array;
}

/** What the dynamic linker reads from a shared object to find the libraries it needs. */
export interface ElfObject {
  bits: 32 | 64;
  littleEndian: boolean;
  machine: number;
  /** DT_NEEDED, then the filtees of DT_AUXILIARY and DT_FILTER, which the linker also loads. */
  needed: string[];
  rpath?: string;
  runpath?: string;
}

export type ElfIdentity = Pick<ElfObject, 'bits' | 'littleEndian' | 'machine'>;

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const ET_DYN = 3;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_STRSZ = 10n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;
const DT_AUXILIARY = 0x7ffffffdn;
const DT_FILTER = 0x7fffffffn;

// Real shared objects have about ten program headers, a few dozen dynamic entries and short
// names; these bounds only keep a hostile file from making the reader loop or allocate.
const MAX_PROGRAM_HEADERS = 512;
const MAX_DYNAMIC_ENTRIES = 8192;
const MAX_STRING = 4096;

export function bufferSource(bytes: Uint8Array): ElfSource {
  return { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

/** The identity the linker compares before it uses a file (class, byte order, machine); undefined when not ELF at all. */
export function elfIdentity(source: ElfSource): ElfIdentity | undefined {
  if (source.size < 20) return undefined;
  const ident = source.read(0, 20);
  if (ident[0] !== 0x7f || ident[1] !== 0x45 || ident[2] !== 0x4c || ident[3] !== 0x46) return undefined;
  const littleEndian = ident[5] === 1;
  return { bits: ident[4] === 2 ? 64 : 32, littleEndian, machine: littleEndian ? ident[18]! | (ident[19]! << 8) : (ident[18]! << 8) | ident[19]! };
}

/**
 * Reads what the dynamic linker reads: the program headers, the PT_DYNAMIC
 * segment found through the PT_LOAD segment that maps it (the linker reads
 * it from memory, so its file offset is not trusted), and the strings its
 * DT_NEEDED, DT_RPATH and DT_RUNPATH entries name. Anything malformed or
 * ambiguous (two PT_DYNAMIC, two DT_RPATH...) is refused, never guessed at.
 */
export function readElfObject(source: ElfSource, path: string): ElfObject {
  const { identity, view, type, segments } = header(source, path);
  if (type !== ET_DYN) malformed(path, `is not a shared object (ELF type ${type})`);
  const dynamics = segments.filter((s) => s.type === PT_DYNAMIC);
  if (dynamics.length !== 1) malformed(path, `has ${dynamics.length} PT_DYNAMIC segments; a shared object has one`);
  const dynamic = dynamics[0]!;
  const entrySize = identity.bits === 64 ? 16 : 8;
  const count = Math.min(Math.floor(dynamic.filesz / entrySize), MAX_DYNAMIC_ENTRIES);
  const dyn = view(mapped(segments, dynamic.vaddr, count * entrySize, path), count * entrySize);
  const needed: number[] = [];
  const filtees: number[] = [];
  const single = new Map<bigint, number>();
  let terminated = false;
  for (let i = 0; i < count && !terminated; i++) {
    // Tags and values other than the ones read here may use all 64 bits: only these are converted.
    const tag = identity.bits === 64 ? dyn.word(i * 16) : BigInt(dyn.u32(i * 8));
    const value = () => (identity.bits === 64 ? dyn.u64(i * 16 + 8) : dyn.u32(i * 8 + 4));
    if (tag === 0n) terminated = true;
    else if (tag === DT_NEEDED) needed.push(value());
    else if (tag === DT_AUXILIARY || tag === DT_FILTER) filtees.push(value());
    else if (tag === DT_STRTAB || tag === DT_STRSZ || tag === DT_RPATH || tag === DT_RUNPATH) {
      if (single.has(tag)) malformed(path, `has two dynamic entries of tag ${tag}`);
      single.set(tag, value());
    }
  }
  if (!terminated) malformed(path, 'has a dynamic section without its DT_NULL end');
  const strtab = single.get(DT_STRTAB);
  const strsz = single.get(DT_STRSZ);
  if (strtab === undefined || strsz === undefined) malformed(path, 'has no string table (DT_STRTAB, DT_STRSZ)');
  const strings = source.read(mapped(segments, strtab, strsz, path), strsz);
  const string = (at: number): string => {
    const end = strings.indexOf(0, at);
    if (at >= strings.length || end === -1 || end - at > MAX_STRING) malformed(path, `has a string at ${at} outside its string table`);
    return Buffer.from(strings.buffer, strings.byteOffset + at, end - at).toString('latin1');
  };
  const names = [...needed, ...filtees].map(string);
  if (names.some((name) => name === '')) malformed(path, 'needs a library with an empty name');
  const object: ElfObject = { ...identity, needed: names };
  const rpath = single.get(DT_RPATH);
  const runpath = single.get(DT_RUNPATH);
  if (rpath !== undefined) object.rpath = string(rpath);
  if (runpath !== undefined) object.runpath = string(runpath);
  return object;
}

/** The program interpreter a dynamically linked executable names (PT_INTERP), if any. */
export function elfInterpreter(source: ElfSource, path: string): string | undefined {
  const interp = header(source, path).segments.find((s) => s.type === PT_INTERP);
  if (interp === undefined || interp.filesz > MAX_STRING) return undefined;
  const bytes = Buffer.from(source.read(checkedRange(source, interp.offset, interp.filesz, path), interp.filesz));
  return bytes.subarray(0, bytes.indexOf(0) === -1 ? bytes.length : bytes.indexOf(0)).toString('latin1');
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

interface View {
  u16(at: number): number;
  u32(at: number): number;
  u64(at: number): number;
  word(at: number): bigint;
}

function header(source: ElfSource, path: string): { identity: ElfIdentity; type: number; segments: Segment[]; view: (offset: number, length: number) => View } {
  if (source.size < 52) malformed(path, `is ${source.size} bytes, shorter than an ELF header`);
  const ident = source.read(0, 16);
  if (ident[0] !== 0x7f || ident[1] !== 0x45 || ident[2] !== 0x4c || ident[3] !== 0x46) malformed(path, 'is not an ELF file');
  if (ident[4] !== 1 && ident[4] !== 2) malformed(path, `has an unknown ELF class ${ident[4]}`);
  if (ident[5] !== 1 && ident[5] !== 2) malformed(path, `has an unknown ELF byte order ${ident[5]}`);
  const bits = ident[4] === 2 ? 64 : 32;
  const littleEndian = ident[5] === 1;
  const view = (offset: number, length: number): View => {
    const bytes = source.read(checkedRange(source, offset, length, path), length);
    const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return {
      u16: (at) => data.getUint16(at, littleEndian),
      u32: (at) => data.getUint32(at, littleEndian),
      word: (at) => data.getBigUint64(at, littleEndian),
      u64: (at) => {
        const value = data.getBigUint64(at, littleEndian);
        if (value > BigInt(Number.MAX_SAFE_INTEGER)) malformed(path, `has a 64-bit value too large to be an offset or size (${value})`);
        return Number(value);
      },
    };
  };
  const ehdr = view(0, bits === 64 ? 64 : 52);
  const type = ehdr.u16(16);
  const machine = ehdr.u16(18);
  const phoff = bits === 64 ? ehdr.u64(32) : ehdr.u32(28);
  const phentsize = ehdr.u16(bits === 64 ? 54 : 42);
  const phnum = ehdr.u16(bits === 64 ? 56 : 44);
  const expectedEntry = bits === 64 ? 56 : 32;
  if (phnum > MAX_PROGRAM_HEADERS) malformed(path, `has ${phnum} program headers; at most ${MAX_PROGRAM_HEADERS} are read`);
  if (phnum > 0 && phentsize !== expectedEntry) malformed(path, `has program headers of ${phentsize} bytes, not ${expectedEntry}`);
  const table = view(phoff, phnum * expectedEntry);
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = i * expectedEntry;
    segments.push(
      bits === 64
        ? { type: table.u32(at), offset: table.u64(at + 8), vaddr: table.u64(at + 16), filesz: table.u64(at + 32), memsz: table.u64(at + 40) }
        : { type: table.u32(at), offset: table.u32(at + 4), vaddr: table.u32(at + 8), filesz: table.u32(at + 16), memsz: table.u32(at + 20) },
    );
  }
  // The linker maps PT_LOAD segments in order, each over the last: overlapping ones would make
  // "what the linker reads at this address" depend on page arithmetic. Refused rather than modelled.
  const loads = segments.filter((s) => s.type === PT_LOAD);
  for (let i = 0; i < loads.length; i++) {
    const load = loads[i]!;
    if (load.filesz > load.memsz) malformed(path, 'has a PT_LOAD segment larger in the file than in memory');
    checkedRange(source, load.offset, load.filesz, path);
    const next = loads[i + 1];
    if (next !== undefined && next.vaddr < load.vaddr + load.memsz) malformed(path, 'has PT_LOAD segments out of order or overlapping');
  }
  return { identity: { bits, littleEndian, machine }, type, segments, view };
}

/** The file offset of `length` bytes at virtual address `vaddr`, which one PT_LOAD must map from the file. */
function mapped(segments: readonly Segment[], vaddr: number, length: number, path: string): number {
  const load = segments.find((s) => s.type === PT_LOAD && vaddr >= s.vaddr && vaddr + length <= s.vaddr + s.filesz);
  if (load === undefined) malformed(path, `has ${length} bytes at address 0x${vaddr.toString(16)} that no PT_LOAD segment maps from the file`);
  return load.offset + (vaddr - load.vaddr);
}

function checkedRange(source: ElfSource, offset: number, length: number, path: string): number {
  if (offset + length > source.size) malformed(path, `is truncated: it needs bytes up to ${offset + length} but has ${source.size}`);
  return offset;
}

function malformed(path: string, reason: string): never {
  throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `${reason}: the libraries it loads cannot be worked out, so it is not loaded`, { path });
}
