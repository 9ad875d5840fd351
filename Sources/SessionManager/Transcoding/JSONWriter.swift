import Foundation

/// Writes the JSON of ``JSONSessionTranscoder`` straight into bytes (no Foundation encoder).
struct JSONWriter {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(256) }

    mutating func raw(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// A finite double as the shortest decimal that reads back to the same bits; always with a
    /// `.` or an exponent, so that it never reads back as an integer.
    mutating func finiteDouble(_ value: Double) throws {
        guard value.isFinite else { throw TranscoderError("a session timestamp is not finite") }
        let text = value.description
        raw(text)
        if !text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") }) {
            raw(".0")
        }
    }

    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                bytes.append(contentsOf: Array(#"\u00"#.utf8))
                bytes.append(Self.hex[Int(byte >> 4)])
                bytes.append(Self.hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// A map key: a leading `$` is doubled so user keys never look like tags.
    mutating func key(_ key: String) {
        string(key.hasPrefix("$") ? "$" + key : key)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func map(_ map: [String: SessionValue], depth: Int) throws {
        bytes.append(UInt8(ascii: "{"))
        var first = true
        for (key, element) in map.sorted(by: { $0.key < $1.key }) {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            self.key(key)
            try value(element, depth: depth)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func value(_ value: SessionValue, depth: Int) throws {
        switch value {
        case .null: raw("null")
        case .bool(let flag): raw(flag ? "true" : "false")
        case .int(let int): raw(String(int))
        case .double(let double):
            if double.isFinite {
                try finiteDouble(double)
            } else {
                raw(#"{"$double":""#)
                raw(double.isNaN ? "NaN" : double < 0 ? "-Infinity" : "Infinity")
                raw(#""}"#)
            }
        case .string(let text): string(text)
        case .bytes(let raw):
            self.raw(#"{"$bytes":""#)
            Base64.encode(raw, into: &bytes)
            self.raw(#""}"#)
        case .date(let date):
            let seconds = date.timeIntervalSinceReferenceDate
            guard seconds.isFinite else { throw TranscoderError("a date attribute is not finite") }
            raw(#"{"$date":"#)
            try finiteDouble(seconds)
            bytes.append(UInt8(ascii: "}"))
        case .array(let values):
            guard depth < JSONSessionTranscoder.maximumDepth else {
                throw TranscoderError("attribute nesting deeper than \(JSONSessionTranscoder.maximumDepth)")
            }
            bytes.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                try self.value(element, depth: depth + 1)
            }
            bytes.append(UInt8(ascii: "]"))
        case .map(let entries):
            guard depth < JSONSessionTranscoder.maximumDepth else {
                throw TranscoderError("attribute nesting deeper than \(JSONSessionTranscoder.maximumDepth)")
            }
            try map(entries, depth: depth + 1)
        }
    }
}
