pub mod doctor;
pub mod observe;
