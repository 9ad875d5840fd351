import Foundation

/// Turns a parsed plist (``BinaryPropertyListReader/Object``) into a session, checking the layout
/// that ``PropertyListSessionTranscoder`` documents.
enum PropertyListSessionReader {
    typealias Object = BinaryPropertyListReader.Object

    static func session(_ root: Object) throws -> SessionSnapshot {
        guard case .array(let fields) = root, fields.count == 7 else { throw TranscoderError("plist session root must be an array of 7") }
        guard case .string(PropertyListSessionTranscoder.format) = fields[0] else { throw TranscoderError("not a swift-session-manager/plist session") }
        guard case .int(let version) = fields[1] else { throw TranscoderError("plist session version missing") }
        guard version == PropertyListSessionTranscoder.version else { throw TranscoderError("unsupported plist session version \(version)") }
        guard case .string(let id) = fields[2], case .date(let created) = fields[3], case .date(let accessed) = fields[4],
            case .int(let maxInactive) = fields[5]
        else { throw TranscoderError("plist session header has the wrong types") }
        guard created.isFinite, accessed.isFinite else { throw TranscoderError("session timestamps are not finite") }
        return SessionSnapshot(
            id: id,
            creationTime: Date(timeIntervalSinceReferenceDate: created),
            lastAccessedTime: Date(timeIntervalSinceReferenceDate: accessed),
            maxInactiveInterval: maxInactive,
            attributes: try map(fields[6])
        )
    }

    /// An array of alternating keys and values.
    static func map(_ object: Object) throws -> [String: SessionValue] {
        guard case .array(let items) = object, items.count % 2 == 0 else { throw TranscoderError("a plist map must be an array of key, value pairs") }
        var map: [String: SessionValue] = [:]
        map.reserveCapacity(items.count / 2)
        var index = 0
        while index < items.count {
            guard case .string(let key) = items[index] else { throw TranscoderError("a plist map key must be a string") }
            guard map.updateValue(try value(items[index + 1]), forKey: key) == nil else { throw TranscoderError("duplicate key") }
            index += 2
        }
        return map
    }

    static func value(_ object: Object) throws -> SessionValue {
        guard case .dictionary(let entries) = object, entries.count == 1, let (tag, payload) = entries.first else {
            throw TranscoderError("a plist value must be a dictionary with one key")
        }
        switch (tag, payload) {
        case ("n", .bool(true)): return .null
        case ("z", .bool(true)): return .double(-0.0)
        case ("b", .bool(let flag)): return .bool(flag)
        case ("i", .int(let int)): return .int(int)
        case ("d", .real(let double)): return .double(double)
        case ("s", .string(let text)): return .string(text)
        case ("y", .data(let raw)): return .bytes(raw)
        case ("t", .date(let seconds)): return .date(Date(timeIntervalSinceReferenceDate: seconds))
        case ("a", .array(let values)): return .array(try values.map(value))
        case ("m", let entries): return .map(try map(entries))
        default: throw TranscoderError("unknown plist value tag '\(tag)' or wrong payload type")
        }
    }
}
