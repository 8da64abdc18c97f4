pub fn check(_args: crate::cli::CheckArgs) -> Result<u8, crate::Failure> {
    Err(crate::Failure::input("x"))
}
