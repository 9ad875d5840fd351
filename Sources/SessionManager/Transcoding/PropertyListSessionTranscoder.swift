import Foundation

/// Sessions as Foundation binary property lists (`bplist00`), for tools that read plists.
///
/// Property lists have no null and do not tell a boolean from a number everywhere, so the layout
/// is explicit. The root is an array:
/// `["swift-session-manager/plist", 1, id, creationTime (date), lastAccessedTime (date),
/// maxInactiveInterval, attributes]`, where attributes are an array of alternating names and
/// values, names sorted. Each value is a dictionary with exactly one key saying its case:
/// `n` (null: `true`), `b` (bool), `i` (integer), `d` (real, NaN and ±∞ included), `s` (string),
/// `y` (data), `t` (date), `a` (array of values), `m` (array of alternating keys and values, sorted),
/// and `z` (the real -0.0: `true`), because the plist writer shares equal objects and would
/// otherwise turn -0.0 into an earlier 0.0.
/// No dictionary with more than one key is written, so equal sessions give equal bytes.
///
/// Writing is Foundation's `PropertyListEncoder`; reading is ``BinaryPropertyListReader``, which
/// bounds time, memory and nesting on hostile input.
public struct PropertyListSessionTranscoder: SessionTranscoder {
    /// The first element of the root array.
    public static let format = "swift-session-manager/plist"
    /// The format version written.
    public static let version = 1
    /// Deepest nesting of attribute arrays and maps accepted, when encoding and decoding.
    public static let maximumDepth = 64
    private static let magic: [UInt8] = Array("bplist00".utf8)

    public let name = "plist"

    /// Creates the transcoder.
    public init() {}

    public func encode(_ snapshot: SessionSnapshot) throws -> [UInt8] {
        let encoder = PropertyListEncoder()
        encoder.outputFormat = .binary
        do {
            return Array(try encoder.encode(PropertyListSession(snapshot)))
        } catch let error as TranscoderError {
            throw error
        } catch {
            throw TranscoderError("property list encoding failed: \(error)")
        }
    }

    public func decode(_ bytes: [UInt8]) throws -> SessionSnapshot {
        guard recognizes(bytes) else { throw TranscoderError("not a plist-transcoder session (no bplist00 header)", offset: 0) }
        let root = try bytes.withUnsafeBufferPointer {
            // Two plist levels per attribute level (a one-key dictionary, then an array).
            try BinaryPropertyListReader.read($0, maximumDepth: 2 * Self.maximumDepth + 4)
        }
        return try PropertyListSessionReader.session(root)
    }

    public func recognizes(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: Self.magic)
    }
}

/// The root array of a plist session.
private struct PropertyListSession: Encodable {
    var snapshot: SessionSnapshot

    init(_ snapshot: SessionSnapshot) { self.snapshot = snapshot }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(PropertyListSessionTranscoder.format)
        try container.encode(PropertyListSessionTranscoder.version)
        try container.encode(snapshot.id)
        try container.encode(snapshot.creationTime)
        try container.encode(snapshot.lastAccessedTime)
        try container.encode(snapshot.maxInactiveInterval)
        try container.encode(PropertyListMap(entries: snapshot.attributes, depth: 0))
    }

}

/// A map as an array of alternating keys and values, keys sorted.
private struct PropertyListMap: Encodable {
    var entries: [String: SessionValue]
    var depth: Int

    init(entries: [String: SessionValue], depth: Int) {
        self.entries = entries
        self.depth = depth
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
            try container.encode(key)
            try container.encode(PropertyListValue(value: value, depth: depth))
        }
    }

}

/// One value: a one-key dictionary naming its case.
private struct PropertyListValue: Encodable {
    var value: SessionValue
    var depth: Int

    init(value: SessionValue, depth: Int) {
        self.value = value
        self.depth = depth
    }

    enum Key: String, CodingKey { case n, b, i, d, s, y, t, a, m, z }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        switch value {
        case .null: try container.encode(true, forKey: .n)
        case .bool(let flag): try container.encode(flag, forKey: .b)
        case .int(let int): try container.encode(int, forKey: .i)
        case .double(let double):
            if double == 0 && double.sign == .minus {
                try container.encode(true, forKey: .z)
            } else {
                try container.encode(double, forKey: .d)
            }
        case .string(let text): try container.encode(text, forKey: .s)
        case .bytes(let raw): try container.encode(Data(raw), forKey: .y)
        case .date(let date): try container.encode(date, forKey: .t)
        case .array(let values):
            guard depth < PropertyListSessionTranscoder.maximumDepth else {
                throw TranscoderError("attribute nesting deeper than \(PropertyListSessionTranscoder.maximumDepth)")
            }
            try container.encode(values.map { PropertyListValue(value: $0, depth: depth + 1) }, forKey: .a)
        case .map(let entries):
            guard depth < PropertyListSessionTranscoder.maximumDepth else {
                throw TranscoderError("attribute nesting deeper than \(PropertyListSessionTranscoder.maximumDepth)")
            }
            try container.encode(PropertyListMap(entries: entries, depth: depth + 1), forKey: .m)
        }
    }

}
