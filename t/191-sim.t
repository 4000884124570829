# The simulator's small run (sim/run.py --small --check): 12,000 launchers
# with distinct client keys against nginx with the module (2 workers), a
# day of 8 s, two days; the rate cap scenario must keep its peak within 2%
# of the cap, and its mean over the seconds offered 1.5 times the cap
# within +2%/-5% (a loaded test machine may not run a worker for longer
# than the burst's time: make sim and bench/rate.sh measure the precision),
# and the ramp scenario must reach 95% adoption inside its planned window
# (its last step plus a day).  About 35 s.
#
# Plain Test::More; nginx on 127.0.0.1, port TEST_NGINX_PORT + 191.

use strict;
use warnings;

use Test::More;
use FindBin;

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set'
    unless defined $ENV{TEST_NGINX_LOAD_MODULES};

local $ENV{SIM_PORT} = ($ENV{TEST_NGINX_PORT} || 1984) + 191;
local $ENV{TEST_NGINX_BINARY} = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';

my $out = `/usr/bin/python3 '$FindBin::Bin/../sim/run.py' --small --check 2>&1`;
my $rc = $? >> 8;

note($out);

is($rc, 0, 'sim/run.py --small --check: the cap and the ramp hold');
like($out, qr/^\| cap \| (\d+) \|/m, 'the cap scenario ran');
like($out, qr/^\| ramp \| \d+ \| [^|]+ \| \d+ s /m,
     'the ramp scenario reached 95%');
unlike($out, qr/^FAIL/m, 'no goal failed');

done_testing();
