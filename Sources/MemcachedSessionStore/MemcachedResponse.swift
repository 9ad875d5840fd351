/// One reply of the memcached text protocol, for the single-key commands the store sends.
package enum MemcachedResponse: Sendable, Equatable {
    /// `VALUE <key> <flags> <bytes>` + data + `END`: a hit of `get`/`gat`.
    case value([UInt8])
    /// `END` alone: a miss of `get`/`gat`.
    case miss
    /// `STORED`.
    case stored
    /// `NOT_STORED` (`add` on an existing key).
    case notStored
    /// `DELETED`.
    case deleted
    /// `NOT_FOUND` (`delete`/`touch` of an absent key).
    case notFound
    /// `TOUCHED`.
    case touched
    /// A meta-protocol reply line (memcached ≥ 1.6, used for locks): its two-letter code (`HD`
    /// done, `NS` not stored, `EX` CAS mismatch, `NF` not found, `EN` miss) and the CAS value of
    /// its `c` flag, when asked for.
    case meta(code: String, cas: UInt64?)
    /// `VA <bytes> c<cas>` + data: a hit of a meta get asking for the value and its CAS value
    /// (``MemcachedCommand/metaGetVersioned(_:allocator:)``).
    case metaValue([UInt8], cas: UInt64?)
    /// `VERSION <version>`: the reply to `version`, the probe of a new connection.
    case version(String)
    /// `ERROR`, `CLIENT_ERROR <message>` or `SERVER_ERROR <message>`.
    case error(kind: ErrorKind, message: String)

    /// Which error line the server sent.
    package enum ErrorKind: String, Sendable {
        /// `ERROR`: unknown command.
        case error = "ERROR"
        /// `CLIENT_ERROR`: the command was malformed.
        case client = "CLIENT_ERROR"
        /// `SERVER_ERROR`: the server could not do it (out of memory, object too large).
        case server = "SERVER_ERROR"
    }
}
