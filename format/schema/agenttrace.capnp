# agenttrace on-disk schema: the session record and the events inside a chunk.
#
# This file is part of the storage contract (docs/format.md, "Storage"). A chunk stored in LMDB is a
# fixed 96-byte little-endian header followed by a zstd frame; the frame decompresses to a
# Cap'n Proto message in the *packed* encoding whose root is `Chunk`. Session records are
# unpacked single-message flat arrays whose root is `Session`.
#
# What readers MUST check (an unchecked value is a crash or a lie waiting to happen):
#   - the chunk header first (magic, formatVersion, codec, sizes, payload hash, previous-chunk hash);
#     only then decompress, and only if the header's raw size and zstd's frame content size agree and
#     are below the reader's limit;
#   - parse with a bounded traversal limit and nesting limit (Cap'n Proto ReaderOptions); Cap'n
#     Proto throws on malformed pointers, also lazily while a field is read: catch at the codec's edge;
#   - Chunk.events has exactly the header's event count;
#   - Chunk.stringEnds is non-decreasing and its last entry is <= size of Chunk.stringData;
#   - every string reference is 0 (the empty string) or 1..len(stringEnds);
#   - Event.kind is a known kind (format/event.h); unknown kinds are Corruption for this version.
#
# When formatVersion is bumped: any change a reader of the previous version would misread — changing
# the meaning, encoding (delta base, zigzag) or position of an existing field, changing the header,
# the codec, or the key layout. Adding a new field at the end of a struct (with a new ordinal) that
# older readers may safely ignore does NOT bump the version; adding a new event kind does (old readers
# reject unknown kinds). Never renumber or reuse an ordinal.
@0xf249e4441fd06323;

$import "/capnp/c++.capnp".namespace("agenttrace::schema");

const formatVersion :UInt16 = 1;
# Written into every chunk header and into the store's "meta" database.

struct Session {
  # One per session, key = the 16 id bytes. Rewritten at every commit of the session's writer.
  id @0 :Data;                 # 16 bytes, UUIDv7
  label @1 :Text;
  agentName @2 :Text;
  agentVersion @3 :Text;
  argv @4 :List(Text);
  cwd @5 :Text;
  home @6 :Text;
  tmp @7 :Text;
  host @8 :Text;
  user @9 :Text;
  kernel @10 :Text;
  arch @11 :Text;
  startWallNs @12 :Int64;
  endWallNs @13 :Int64;        # 0 while recording
  exitCode @14 :Int32 = -1;    # -1 unknown
  exitSignal @15 :Int32;
  state @16 :UInt8;            # SessionState: 0 recording, 1 complete, 2 incomplete
  eventCount @17 :UInt64;
  chunkCount @18 :UInt64;
  rawBytes @19 :UInt64;        # sum of the chunks' raw (decompressed) sizes
  storedBytes @20 :UInt64;     # sum of the chunks' stored sizes, headers included
  headHash @21 :Data;          # 32 bytes: hash of the last chunk, zeros when there is none
  envNames @22 :List(Text);
  secretEnvNames @23 :List(Text);
  recorder @24 :Text;
  headSignature @25 :Data;
  # Empty, or the 64-byte Ed25519 signature of the completed session's head: the message of
  # format/signing.h (domain "agenttrace-session-head-v1", id, headHash, counts, state, times, exit
  # status, label). Readers that verify signatures check it against a public key they trust; a
  # signature alone proves nothing (anyone can sign with a key of their own).
  signerKey @26 :Data;
  # Empty, or the 32-byte Ed25519 public key of the signature (which key signed, for messages only).
}

struct Chunk {
  # The root of a chunk payload. Strings are interned per chunk: string i (1-based) is
  # stringData[stringEnds[i-2] .. stringEnds[i-1]) (stringEnds[-1] taken as 0); reference 0 is "".
  # Chunks decode independently: delta bases restart at zero in every chunk.
  stringData @0 :Data;
  stringEnds @1 :List(UInt32);
  events @2 :List(Event);
  monoDeltas @3 :Data;
  # Column of zigzag(mono_ns - prev.mono_ns) for every event, in order, each as an unsigned LEB128
  # varint (7 bits per byte, low group first, high bit = more follows; at most 10 bytes). Exactly
  # len(events) varints and no trailing bytes. Kept out of the Event struct because it is the most
  # random value of an event: as a dense column it compresses to about its entropy instead of
  # breaking up the otherwise repetitive struct bytes.
}

struct Event {
  # One event. seq is not stored: it is the header's first sequence number + the index in the list.
  # Integers that may be negative or are deltas are zigzag-encoded (0,-1,1,-2 -> 0,1,2,3) so that
  # small magnitudes keep the high bytes zero (cheap in the packed encoding and for zstd).
  # "prev" is the previous event in the same chunk, or all zeros for the first event.
  # Ordinals are chosen for the layout: the values that are usually non-zero (the first string
  # reference, result, flags) share few adjacent words, and the usually-zero wall delta comes
  # last, so that the packed encoding sees one short run of non-zero words per event.
  # mono_ns is not here: see Chunk.monoDeltas.
  kind @0 :UInt16;             # EventKind number
  pidDelta @1 :UInt32;         # zigzag(pid - prev.pid)
  tidDelta @2 :UInt32;         # zigzag(tid - pid)
  result @3 :UInt64;           # zigzag(result)

  # The fields of the event's kind, by family (format/event.h lists which fields each kind uses).
  # The writer picks the member from the kind; fields outside the kind's family are not stored.
  union {
    file :group {              # file.* (kinds 0-10)
      path @4 :UInt32;         # string references
      flags @5 :UInt64;
      mode @6 :UInt32;
      path2 @7 :UInt32;
      resolved @8 :UInt32;
      uid @9 :UInt32;
      gid @10 :UInt32;
      size @11 :UInt64;        # zigzag
    }
    exec :group {              # exec (11)
      path @12 :UInt32;
      flags @13 :UInt64;
      resolved @14 :UInt32;
      argv @15 :List(UInt32);
      envNames @16 :List(UInt32);
      secretEnvNames @17 :List(UInt32);
    }
    proc :group {              # proc.spawn, proc.exit (12, 13)
      childPid @18 :UInt32;    # zigzag(child_pid - pid)
      flags @19 :UInt64;
      exitCode @20 :UInt32;    # zigzag
      signal @21 :UInt32;      # zigzag
      isThread @22 :Bool;
    }
    net :group {               # net.* (14-17)
      address @23 :UInt32;
      port @24 :UInt16;
      family @25 :UInt16;
      path @26 :UInt32;        # AF_UNIX socket path
      size @27 :UInt64;        # zigzag
      flags @28 :UInt64;
    }
    tool :group {              # tool.*, mcp.*, protocol.error, annotation, gap (18-24, 27, 28)
      server @29 :UInt32;
      tool @30 :UInt32;
      requestId @31 :UInt32;
      json @32 :UInt32;
      method @33 :UInt32;
      text @34 :UInt32;
      isError @35 :Bool;
      direction @36 :UInt8;
      durationNs @37 :UInt64;  # zigzag
      size @38 :UInt64;        # zigzag
    }
    sys :group {               # process.escape, raw (25, 26)
      text @39 :UInt32;
      syscallNr @40 :UInt32;
      arch @41 :UInt32;
      args @42 :List(UInt64);  # exactly 6 entries, or empty for all zeros
    }
  }
  wallDelta @43 :UInt64;       # zigzag((wall_ns - mono_ns) - (prev.wall_ns - prev.mono_ns))
}

struct Columns {
  # The root of a codec-2 payload (docs/format.md, "Codec 2"): the same events as `Chunk`, stored as
  # columns instead of one struct per event, because a column of like values (clock deltas, path
  # references, open flags) compresses far better than interleaved struct words.
  #
  # Every column is a Data blob of unsigned LEB128 varints (7 bits per byte, low group first, high
  # bit = more follows; at most 10 bytes, and a value must fit its field). Events are encoded in
  # order; for each event the encoder appends its values to the columns below, field by field, in
  # the order docs/format.md lists for the event's family. Each column ends exactly after the
  # last event's last value (no trailing bytes). zz(x) is the zigzag of x.
  #
  # String references ("ref") are relative to the strings seen so far in the chunk, in reading
  # order: 0 is the empty string, 1 is the next string of the table not yet referenced (strings are
  # stored in order of first use), and r >= 2 is the string first referenced r-1 strings back
  # (string number seen + 2 - r, where seen is the count of distinct strings referenced so far).
  # Every string of the table is referenced.
  stringData @0 :Data;         # the strings in order of first use, front-coded: each without the
                               # prefix it shares with the string before it
  stringLengths @1 :Data;      # two varints per string: the length of the prefix it shares with the
                               # previous string (0 for the first), then the length of its rest in
                               # stringData
  kinds @2 :Data;              # EventKind number
  monoDeltas @3 :Data;         # zz(mono_ns - prev.mono_ns); prev = previous event of the chunk, or 0
  wallDeltas @4 :Data;         # zz((wall_ns - mono_ns) - (prev.wall_ns - prev.mono_ns))
  pidDeltas @5 :Data;          # zz(pid - prev.pid)
  tids @6 :Data;               # zz(tid - pid)
  results @7 :Data;            # zz(result)
  paths @8 :Data;              # refs: the event's primary path (file, exec, net unix path)
  paths2 @9 :Data;             # refs: second path and resolved target (file, exec)
  flags @10 :Data;             # open/clone/RENAME_*/AT_* flags (file, exec, proc, net)
  lists @11 :Data;             # exec argv, env names, secret env names: a count then that many refs, each
  strings @12 :Data;           # refs of the other strings (net address, tool and sys texts)
  values @13 :Data;            # every other field, per family
}
