# Builds the same static binary as `make build` and runs it with its data on
# a volume at /data.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/parley ./cmd/parley

# Root inside the image: Fly volumes (and most Docker volumes) are root-owned.
FROM gcr.io/distroless/static-debian12
COPY --from=build /out/parley /usr/local/bin/parley
VOLUME /data
ENV PARLEY_DATA=/data PARLEY_ADDR=:8080 PARLEY_ADMIN_ADDR=127.0.0.1:9090
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/parley"]
CMD ["serve"]
