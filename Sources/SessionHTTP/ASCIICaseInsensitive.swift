extension String {
    /// `true` when this string equals `lowercase` (a lower-case ASCII literal) ignoring ASCII case,
    /// without allocating: header names are compared this way on every request.
    func equalsIgnoringASCIICase(_ lowercase: StaticString) -> Bool {
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        return utf8.count == expected.count && utf8.elementsEqual(expected) { $0 | 0x20 == $1 }
    }
}
