use netns_test::netns_test;

struct Fixture;

impl Fixture {
    #[netns_test]
    fn by_ref(&self) {}
}

fn main() {}
