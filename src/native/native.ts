// Loaded lazily (see guard/load-verifier.ts), on the first native load: the ELF reader and the
// linker model cost a process that never loads native code nothing.
export { bufferSource, elfIdentity, elfInterpreter, readElfObject, type ElfIdentity, type ElfObject, type ElfSource } from './elf.js';
export { withElfFile } from './elf-file.js';
export { linkerClosure, type LinkedObject, type LinkerHost, type Opened } from './linker-closure.js';
export { runningProcess } from './running-process.js';
