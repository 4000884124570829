package StagedUpdateStatus;

# What the counter and status suites t/110-*.t .. t/113-*.t share: an nginx
# of their own (master and 2 workers, daemon) on 127.0.0.1, with the track
# "game" of the demo, its downloads behind tokens and the status location;
# plain HTTP/1.1 clients (one request, or many pipelined on keep-alive
# connections) and readers of the JSON and Prometheus answers.
#
#   my $t = StagedUpdateStatus->new(port_offset => 120);
#   $t->start;                       # or ->start(conf => { versions => 4 })
#   my ($status, $headers, $body) = $t->get('/update/check?version=1.0');
#   $t->stop;                        # also at exit
#
# Environment: TEST_NGINX_BINARY, TEST_NGINX_LOAD_MODULES (unset: the file
# is skipped; empty: the module is built into the binary), TEST_NGINX_PORT.

use strict;
use warnings;

use File::Path qw(make_path);
use File::Spec;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Test::More;
use Time::HiRes qw(time sleep);

my @ALL;                   # every instance, stopped at exit

END {
    local $?;
    $_->stop for grep { $_->{owner} == $$ } @ALL;
}

# skips the whole file unless a module and an nginx are given

sub skip_unless_nginx {
    my $modules = $ENV{TEST_NGINX_LOAD_MODULES};

    plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set: it must name '
                     . 'ngx_http_staged_update_module.so (or be empty for '
                     . 'an nginx with the module built in)'
        unless defined $modules;

    my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';

    plan skip_all => "nginx binary \"$nginx\" is not executable"
        unless -f $nginx && -x _;
}

sub new {
    my ($class, %o) = @_;

    my $self = bless {
        port  => ($ENV{TEST_NGINX_PORT} || 1984) + ($o{port_offset} || 120),
        nginx => $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx',
        owner => $$,                # a forked client does not stop it
        root  => tempdir('staged-update-status-XXXXXX', TMPDIR => 1,
                         CLEANUP => 1),
    }, $class;

    # the workers, maybe not root, read the releases

    chmod 0755, $self->{root};

    $self->{modules} = [ map { File::Spec->rel2abs($_) }
                         split ' ', $ENV{TEST_NGINX_LOAD_MODULES} // '' ];
    $self->{prefix} = "$self->{root}/nginx";

    make_path("$self->{prefix}/logs", "$self->{prefix}/conf",
              "$self->{prefix}/tmp");

    # two releases: 2.0.0 and 1.9.0, a few files and a full archive each

    for my $v ('2.0.0', '1.9.0') {
        write_file("$self->{root}/rel/$v/bin/game", "#!/bin/sh\necho $v\n");
        write_file("$self->{root}/rel/$v/data/pack.pak", "$v " x 1000);
        write_file("$self->{root}/rel/$v/.update/full.tar.gz",
                   "the archive of $v\n");
    }

    write_file("$self->{root}/token.secret", "0123456789abcdef" x 4);

    push @ALL, $self;

    return $self;
}

sub port { $_[0]{port} }
sub root { $_[0]{root} }

# the configuration: the demo's tables; counters=<line> replaces the
# counters line of the track, tables=<lines> its rules and servers;
# zone=<parameters> ends the zone's line, http=<lines> adds to the http
# block (more tracks), locations=<lines> to the server

sub conf {
    my ($self, %o) = @_;

    my $rel = "$self->{root}/rel";
    my $load = join '', map { "load_module $_;\n" } @{ $self->{modules} };
    my $counters = $o{counters} // 'counters versions=8 installations=4;';
    my $p = $self->{prefix};
    my $tables = $o{tables} // <<"TABLES";
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$rel/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
        server   shard-2  latest=1.9.0  minimum=1.5.0  default=0%;
TABLES

    return <<"CONF";
$load
worker_processes 2;
pid $p/logs/nginx.pid;
error_log $p/logs/error.log info;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $p/tmp;
    proxy_temp_path $p/tmp;
    fastcgi_temp_path $p/tmp;
    uwsgi_temp_path $p/tmp;
    scgi_temp_path $p/tmp;

    staged_update_zone updates 2m @{[ $o{zone} // '' ]};

    staged_update_track game {
        zone     updates;
        $counters
        latest   2.0.0  $rel/2.0.0;
        minimum  1.0.0;
        default  10%;
$tables
        token    secret=$self->{root}/token.secret;
    }
@{[ $o{http} // '' ]}
    server {
        listen 127.0.0.1:$self->{port} reuseport;
        keepalive_requests 1000000;

        # pipelined batches fit the first buffer: nginx's move of a request
        # into a large header buffer is a pointer overflow under UBSan
        # (ngx_http_request.c:1693 in 1.22.1), which aborts the worker of
        # the sanitizer build
        client_header_buffer_size 64k;
        add_header X-Pid \$pid always;

        location = /update/check { staged_update game; }
        location = /update/status { staged_update_status; }
        location /releases/ {
            staged_update_verify game;
            alias $rel/;
        }
@{[ $o{locations} // '' ]}    }
}
CONF
}

sub start {
    my ($self, %o) = @_;

    die "127.0.0.1:$self->{port} is already in use (TEST_NGINX_PORT moves "
        . "the port)\n" if $self->connect;

    my $p = $self->{prefix};

    write_file("$p/conf/nginx.conf", $self->conf(%o));

    my $rc = system($self->{nginx}, '-p', "$p/", '-c', "$p/conf/nginx.conf",
                    '-e', "$p/logs/error.log");

    die "nginx did not start:\n" . read_file("$p/logs/error.log") if $rc;

    my $deadline = time + 10;

    until ($self->connect && ($self->{master} = $self->master)
           && $self->workers == 2)
    {
        die "nginx does not answer:\n" . read_file("$p/logs/error.log")
            if time > $deadline;
        sleep 0.05;
    }
}

# SIGHUP with the same (or a new) configuration; returns once the new
# workers, and only they, run

sub reload {
    my ($self, %o) = @_;

    my %old = map { $_ => 1 } $self->workers;

    write_file("$self->{prefix}/conf/nginx.conf", $self->conf(%o)) if %o;

    kill 'HUP', $self->master;

    my $deadline = time + 10;

    while (time < $deadline) {
        my @w = $self->workers;
        return 1 if @w == 2 && !grep { $old{$_} } @w;
        sleep 0.05;
    }

    return 0;
}

sub master {
    my ($self) = @_;

    my $pid = eval { read_file("$self->{prefix}/logs/nginx.pid") } // '';

    return $pid =~ /(\d+)/ ? $1 : undef;
}

sub workers {
    my ($self) = @_;

    my $master = $self->master or return ();
    my @w;

    for my $stat (glob '/proc/[0-9]*/stat') {
        my $s = eval { read_file($stat) } // next;
        my ($pid, $ppid) = $s =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        push @w, $pid if $ppid == $master;
    }

    return @w;
}

sub stop {
    my ($self) = @_;

    my $master = delete $self->{master} or return;

    kill 'TERM', $master;

    my $deadline = time + 10;
    sleep 0.05 while kill(0, $master) && time < $deadline;
    kill 'KILL', $master if kill 0, $master;

    unlink "$self->{prefix}/logs/nginx.pid";
}

sub error_log { read_file("$_[0]{prefix}/logs/error.log") }

sub connect {
    my ($self) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{port}, Proto => 'tcp',
                                  Timeout => 5)
        or return undef;

    setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
    binmode $s;

    return $s;
}

# one request on a connection of its own: (status, {lowercase name =>
# value}, body); the request line and headers are sent as given

sub get {
    my ($self, $path, %o) = @_;

    my $s = $self->connect or die "cannot connect to $self->{port}: $!\n";
    my $method = $o{method} // 'GET';
    my $headers = join '', map { "$_: $o{headers}{$_}\r\n" }
                           sort keys %{ $o{headers} || {} };
    my $body = $o{body} // '';

    $headers .= 'Content-Length: ' . length($body) . "\r\n" if length $body;

    print $s $o{raw} // "$method $path HTTP/1.1\r\nHost: localhost\r\n"
                       . "Connection: close\r\n$headers\r\n$body";

    local $/;
    my $answer = <$s> // '';

    return read_answer(\$answer, $method eq 'HEAD');
}

# one answer off the front of $$buf: (status, headers, body), or () when
# it is not all there yet

sub read_answer {
    my ($buf, $head) = @_;

    my $end = index($$buf, "\r\n\r\n");
    return () if $end < 0;

    my ($line, @lines) = split /\r\n/, substr($$buf, 0, $end);
    my ($status) = $line =~ m{^HTTP/1\.[01] (\d{3})} or die "bad answer: $line\n";
    my %h;

    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $h{lc $k} = $v;
    }

    my $len = $head || $status == 204 || $status == 304 ? 0
              : $h{'content-length'} // length($$buf) - $end - 4;

    return () if length($$buf) < $end + 4 + $len;

    my $body = substr($$buf, $end + 4, $len);
    substr($$buf, 0, $end + 4 + $len) = '';

    return ($status, \%h, $body);
}

# many GETs, pipelined in batches on one keep-alive connection: a list of
# [status, headers, body], in order

sub pipeline {
    my ($self, $paths, $batch) = @_;

    $batch ||= 200;

    my $s = $self->connect or die "cannot connect to $self->{port}: $!\n";
    my @out;

    for (my $i = 0; $i < @$paths; $i += $batch) {
        my @part = @$paths[$i .. ($i + $batch > @$paths ? $#$paths
                                                       : $i + $batch - 1)];

        print $s join '', map { "GET $_ HTTP/1.1\r\nHost: localhost\r\n\r\n" }
                          @part;

        my $buf = '';
        my $n = 0;

        while ($n < @part) {
            my @a = read_answer(\$buf);

            if (@a) {
                push @out, \@a;
                $n++;
                next;
            }

            my $got = sysread($s, $buf, 65536, length $buf);
            die "the connection closed after $n of " . @part . " answers ("
                . (defined $got ? "end of stream" : "$!") . ")\n"
                unless $got;
        }
    }

    return \@out;
}

sub status_json {
    my ($self) = @_;

    my ($status, $h, $body) = $self->get('/update/status');

    die "status: $status $body\n" unless $status == 200;

    return decode_json($body);
}

# the samples of the Prometheus text: { 'name{labels}' => value }

sub status_prom {
    my ($self, $text) = @_;

    $text //= ($self->get('/update/status?format=prometheus'))[2];

    my %m;

    for (split /\n/, $text) {
        next if /^#/ || !length;
        my ($k, $v) = /^(\S+\{.*\}|\S+) (\S+)$/ or die "bad sample: $_\n";
        $m{$k} = $v;
    }

    return \%m;
}

sub write_file {
    my ($file, $data) = @_;

    my ($dir) = $file =~ m{^(.*)/};
    make_path($dir);
    open my $fh, '>:raw', $file or die "cannot write $file: $!\n";
    print $fh $data;
    close $fh or die "cannot write $file: $!\n";
}

sub read_file {
    my ($file) = @_;

    open my $fh, '<:raw', $file or die "cannot read $file: $!\n";
    local $/;

    return scalar <$fh>;
}

1;
