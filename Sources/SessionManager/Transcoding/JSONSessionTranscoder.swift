import Foundation

/// A JSON transcoder, for stores that other languages read too.
///
/// A session is one object with keys in this fixed order (format version 1):
///
/// ```json
/// {"format":"swift-session-manager/json","version":1,"id":"…","creationTime":…,
///  "lastAccessedTime":…,"maxInactiveInterval":1800,"attributes":{…}}
/// ```
///
/// `creationTime` and `lastAccessedTime` are seconds since 2001-01-01T00:00:00Z (Foundation's
/// reference date, the exact value a `Date` holds; add 978307200 for Unix time). For readers in
/// other languages the same two times are also written as Unix time in milliseconds (integers),
/// in the reserved attributes `sm:creationTimeUnixMs` and `sm:lastAccessedTimeUnixMs`, beside
/// the session's principal (`sm:principal`) and login time (`sm:loginTime`, Unix milliseconds) once it
/// logged in. They are attributes, not new top-level keys, so that the format stays version 1:
/// the previous release's reader, which refuses an unknown key or version, reads a session
/// written now and writes them back as they are (its `lastAccessedTime` is the one to trust
/// then: this reader takes the two times from `creationTime` and `lastAccessedTime`, and a
/// session stored before these attributes existed reads as before). Attribute values:
///
/// | `SessionValue` | JSON |
/// |---|---|
/// | `.null`, `.bool`, `.string` | `null`, `true`/`false`, a string |
/// | `.int` | a number without `.`/`e` (64-bit; others are an error) |
/// | `.double` (finite) | a number with `.` or `e`, the shortest text that reads back to the same bits (`1.0`, `-0.0`, `1e-05`) |
/// | `.double` (NaN, ±∞) | `{"$double":"NaN"}`, `{"$double":"Infinity"}`, `{"$double":"-Infinity"}` |
/// | `.bytes` | `{"$bytes":"<base64, standard alphabet, padded>"}` |
/// | `.date` | `{"$date":<seconds since 2001-01-01T00:00:00Z, as for doubles>}` |
/// | `.array` | an array |
/// | `.map` | an object; a key that starts with `$` is written with one more `$` in front |
///
/// An object with one key `$date`, `$bytes` or `$double` is that tagged value; any other key that
/// starts with a single `$` is an error. Object keys are sorted, nothing is indented, non-ASCII is
/// written as UTF-8, so equal sessions give equal bytes. Decoding is strict JSON (RFC 8259) with
/// nesting limited to ``maximumDepth``, duplicate keys rejected, and no allocation larger than the input.
public struct JSONSessionTranscoder: SessionTranscoder {
    /// The value of the `format` key.
    public static let format = "swift-session-manager/json"
    /// The format version written.
    public static let version = 1
    /// Deepest nesting of attribute arrays and maps accepted, when encoding and decoding.
    public static let maximumDepth = 64
    /// The reserved attributes with the session's times as Unix milliseconds, for other languages.
    static let creationTimeUnixMs = "sm:creationTimeUnixMs"
    static let lastAccessedTimeUnixMs = "sm:lastAccessedTimeUnixMs"
    /// The first bytes of every blob of this format.
    static let header: [UInt8] = Array(#"{"format":"swift-session-manager/json","version":"#.utf8)

    public let name = "json"

    /// Creates the transcoder.
    public init() {}

    public func encode(_ snapshot: SessionSnapshot) throws -> [UInt8] {
        var writer = JSONWriter()
        writer.bytes.append(contentsOf: Self.header)
        writer.raw(String(Self.version))
        writer.raw(#","id":"#)
        writer.string(snapshot.id)
        writer.raw(#","creationTime":"#)
        try writer.finiteDouble(snapshot.creationTime.timeIntervalSinceReferenceDate)
        writer.raw(#","lastAccessedTime":"#)
        try writer.finiteDouble(snapshot.lastAccessedTime.timeIntervalSinceReferenceDate)
        writer.raw(#","maxInactiveInterval":"#)
        writer.raw(String(snapshot.maxInactiveInterval))
        writer.raw(#","attributes":"#)
        var attributes = snapshot.attributes
        attributes[Self.creationTimeUnixMs] = .int(Int(snapshot.creationTime.unixMilliseconds))
        attributes[Self.lastAccessedTimeUnixMs] = .int(Int(snapshot.lastAccessedTime.unixMilliseconds))
        try writer.map(attributes, depth: 0)
        writer.bytes.append(UInt8(ascii: "}"))
        return writer.bytes
    }

    public func decode(_ bytes: [UInt8]) throws -> SessionSnapshot {
        guard recognizes(bytes) else {
            throw TranscoderError("not a json-transcoder session (unknown header)", offset: 0)
        }
        var snapshot = try bytes.withUnsafeBufferPointer { buffer in
            var reader = JSONReader(buffer)
            return try reader.session()
        }
        snapshot.attributes[Self.creationTimeUnixMs] = nil
        snapshot.attributes[Self.lastAccessedTimeUnixMs] = nil
        return snapshot
    }

    public func recognizes(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: Self.header)
    }
}
