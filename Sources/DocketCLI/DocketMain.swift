public enum DocketMain { public static func run() {} }
