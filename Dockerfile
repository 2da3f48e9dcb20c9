# femqled on Debian 13 (trixie): DOLFINx 0.9 and everything else from apt, from the same package list as
# scripts/femqled-env; nothing from pip but femqled itself.
#   docker build -t femqled .
#   docker run --rm -v "$PWD/results:/home/femqled/work/results" femqled                 # the demo, 2 ranks
#   docker run --rm -v "$PWD:/home/femqled/work" femqled mpirun -n 4 femqled jv cases/default.toml
FROM debian:trixie

COPY scripts/packages.txt /tmp/packages.txt
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      $(sed -e 's/#.*//' /tmp/packages.txt) \
 && rm -rf /var/lib/apt/lists/* /tmp/packages.txt

COPY . /opt/femqled
RUN pip install --no-deps --no-build-isolation --break-system-packages /opt/femqled \
 && useradd --create-home femqled

USER femqled
WORKDIR /home/femqled/work
ENV OMP_NUM_THREADS=1 OMPI_MCA_btl=self,sm PYVISTA_OFF_SCREEN=true
CMD ["mpirun", "-n", "2", "femqled", "demo", "/opt/femqled/cases/default.toml"]
