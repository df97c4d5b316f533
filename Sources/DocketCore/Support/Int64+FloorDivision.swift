extension Int64 {
    func floorDivided(by divisor: Int64) -> (Int64, Int64) {
        var q = self / divisor
        var r = self % divisor
        if r < 0 {
            q -= 1
            r += divisor
        }
        return (q, r)
    }

    /// The quotient rounded towards minus infinity.
    func floorQuotient(_ divisor: Int64) -> Int64 { floorDivided(by: divisor).0 }

    /// The remainder with the divisor's sign (0 ..< divisor for a positive divisor).
    func floorModulo(_ divisor: Int64) -> Int64 { floorDivided(by: divisor).1 }
}
