pub struct SimHost;
